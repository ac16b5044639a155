"""App database: SQLAlchemy models, Alembic migrations and the repository that writes them."""
