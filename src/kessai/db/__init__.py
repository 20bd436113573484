"""Storage: engine and sessions for SQLite and PostgreSQL; Alembic migrations."""
