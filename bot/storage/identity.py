"""Which database made a batch of work in Redis: the database's identity and each job's nonce.

GPU workers keep their batches and results in Redis for ``[executor] result_ttl_s`` (an hour),
longer than a bot may take to come back on another database. Job ids are not enough to find
"my" batch again: a database reset (a fresh ``data_dir``) counts ids from 1 again, and a restore
from a backup reuses every id made after the backup. So a batch is bound to two random values:

- the database's **identity** (table ``instance``): drawn once, when the schema is created or
  upgraded. A fresh ``data_dir`` draws a new one, so a reset never matches anything it finds in
  Redis. A restore copies it, which is why it is not enough alone:
- each job's **nonce** (``jobs.nonce``): drawn when its row is inserted (a trigger, so every
  insert path gets one). A restored database holds the nonces of the jobs it had at the backup;
  a job inserted after the restore draws a new one, so it never matches the batch of the job
  that had its id before the restore, while a job that was already in the backup (running then)
  still finds its own batch and adopts it: it is the same request, made for the same user.

A restore could also be detected with a generation number kept in both SQLite and Redis, but
that only tells "something was restored" and would force the bot to drop every batch, including
those of jobs the backup really holds; the nonce decides per job, with no state in Redis and
nothing to keep in step. The batch key carries both (see :func:`bot.remote.broker.batch_key`);
the bot never adopts, collects or delivers a batch whose identity or nonce differs (it leaves
it, says so once at WARNING, and Redis expires it).
"""

from __future__ import annotations

from bot.storage.database import Database


async def database_identity(db: Database) -> str:
    """This database's identity (16 hex digits; see the module docstring)."""
    row = await db.fetchone("SELECT identity FROM instance WHERE id = 1")
    if row is None:  # a row deleted by hand: draw a new identity rather than run without one
        async with db.transaction() as tx:
            await tx.execute(
                "INSERT OR IGNORE INTO instance (id, identity) VALUES (1, lower(hex(randomblob(8))))"
            )
            row = await tx.fetchone("SELECT identity FROM instance WHERE id = 1")
    assert row is not None
    return str(row["identity"])
