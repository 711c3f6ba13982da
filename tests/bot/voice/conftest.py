"""Voice tests that need stores work on real SQLite: reuse the storage tests' fixtures."""

from tests.bot.storage.conftest import clock, db, db_path, generations, jobs, stores

__all__ = ["clock", "db", "db_path", "generations", "jobs", "stores"]
