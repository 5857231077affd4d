"""Benchmarks: `python -m bench` (or `make bench`) runs the Telegram intake benchmark."""
