"""A real ``redis-server`` per test (see tests/redis_server.py)."""

from tests.redis_server import redis_server  # noqa: F401 - a fixture
