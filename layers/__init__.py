"""The spatial store: models, migrations, import/export and coordinate systems."""
