"""GPU work through Redis: the bot's remote executor and the ``ambientgen worker`` process.

::

    bot (scheduler) ─▶ RemoteExecutor ─▶ Redis (SAQ queue "saq:<queue_name>@v<protocol>@<models>:…") ─▶ worker
                     ◀── progress (pub/sub), results (blobs with an expiry) ◀──────────┘

- :mod:`bot.remote.wire` — orders and results as bytes (no Redis, no torch, no Discord).
- :mod:`bot.remote.broker` — the names and conventions both sides share, the SAQ queue.
- :mod:`bot.remote.executor` — the bot's side: an :class:`~bot.jobs.executor.Executor` (no torch).
- :mod:`bot.remote.bookkeeping` — the executor's two loops: the workers online, its batches' fate.
- :mod:`bot.remote.courier` — the bot's trips to Redis (a batch out, a stop, a result back).
- :mod:`bot.remote.flights` — the bot's book of batches handed to Redis, and the workers online.
- :mod:`bot.remote.routes` — which worker may take which batch: a queue per set of models, room
  per model (pure logic).
- :mod:`bot.remote.worker`, :mod:`bot.remote.intake` and :mod:`bot.remote.gpu` — the worker
  process (no Discord): its models' queues, and its GPU.
"""
