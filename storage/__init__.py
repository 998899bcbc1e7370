"""Storage: SQLAlchemy models, sessions, migrations, queries and importers."""
