"""One repository per aggregate, each working inside the session of a unit of work (storage/uow.py)."""
