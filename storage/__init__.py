"""storage/ remembers: models, the unit of work, migrations and field encryption."""
