"""Fixtures of the functional tests: the real databases (SQLite and PostgreSQL)."""

from tests.db_backends import database, database_url, empty_database

__all__ = ["database", "database_url", "empty_database"]
