"""The studio's side of GPU workers: the bot's :class:`~bot.remote.executor.RemoteExecutor`, minus
adoption.

At start the bot's executor takes over every batch an earlier run left in Redis. The studio must
not: those batches are the bot's, and collecting their results would take them from it. Its own
batches carry job ids far above the bot's (:data:`~bot.studio.engine.JOB_ID_BASE`).
"""

from __future__ import annotations

from bot.remote.executor import RemoteExecutor


class StudioRemoteExecutor(RemoteExecutor):
    """GPU workers through Redis, for the studio (see the module docstring)."""

    async def _adopt(self) -> None:
        """Leaves every batch in Redis to the bot that sent it."""
