"""One Alembic revision per schema change, numbered in order."""
