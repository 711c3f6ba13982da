"""The library works on real stores: reuse the storage tests' database fixtures."""

from tests.bot.storage.conftest import clock, db, db_path, generations, jobs, stores

__all__ = ["clock", "db", "db_path", "generations", "jobs", "stores"]
