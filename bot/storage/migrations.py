"""Versioned schema migrations, tracked with ``PRAGMA user_version``.

``MIGRATIONS[i]`` upgrades a database from version ``i`` to ``i + 1``. Each one runs in its own
``BEGIN IMMEDIATE`` transaction together with the ``user_version`` bump, so a failed migration
leaves the database exactly at the previous version. Never edit a released migration: append one.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.storage.database import Database

log = logging.getLogger(__name__)


class SchemaVersionError(RuntimeError):
    """The database was written by a newer AmbientGen than the one running."""


_V1 = """
CREATE TABLE jobs (
    -- AUTOINCREMENT: ids are never reused, even after old jobs are pruned, because Discord
    -- components and logs refer to jobs by id.
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    status TEXT NOT NULL
        CHECK (status IN ('queued', 'running', 'posting', 'done', 'failed', 'cancelled')),
    -- 'ambient' | 'reroll' today; free text so that new kinds need no migration.
    kind TEXT NOT NULL CHECK (kind <> ''),
    user_id INTEGER NOT NULL,
    user_name TEXT NOT NULL,
    guild_id INTEGER,                       -- NULL in DMs
    channel_id INTEGER NOT NULL,
    request_json TEXT NOT NULL,
    variations INTEGER NOT NULL DEFAULT 1 CHECK (variations >= 1),
    parent_job_id INTEGER REFERENCES jobs (id) ON DELETE SET NULL,
    reply_to_message_id INTEGER,
    application_id INTEGER,
    interaction_token TEXT,
    interaction_created_at REAL,            -- epoch seconds
    status_message_id INTEGER,
    result_message_id INTEGER,
    posting_started_at REAL,                -- delivery intent: set before the post is attempted
    created_at REAL NOT NULL,
    started_at REAL,
    finished_at REAL,
    gen_seconds REAL,
    error TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    idempotency_key TEXT UNIQUE
);

-- Plain (not partial) indexes: the planner only uses a partial index when the query's WHERE
-- provably implies the index's, which 'status = ?' with a bound parameter never does.
CREATE INDEX jobs_by_status ON jobs (status, id);
CREATE INDEX jobs_by_user_status ON jobs (user_id, status);
CREATE INDEX jobs_by_user_created ON jobs (user_id, created_at);
CREATE INDEX jobs_by_result_message ON jobs (result_message_id) WHERE result_message_id IS NOT NULL;
CREATE INDEX jobs_by_parent ON jobs (parent_job_id) WHERE parent_job_id IS NOT NULL;

CREATE TABLE generations (
    id INTEGER PRIMARY KEY,
    job_id INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    variation_index INTEGER NOT NULL CHECK (variation_index >= 0),
    user_id INTEGER NOT NULL,
    guild_id INTEGER,
    channel_id INTEGER NOT NULL,
    message_id INTEGER,                     -- the Discord message that carries the MP3
    seed INTEGER NOT NULL,
    prompt TEXT NOT NULL,                   -- expanded prompt sent to the model
    user_text TEXT NOT NULL,
    preset TEXT,
    duration_s REAL NOT NULL,
    steps INTEGER NOT NULL,
    guidance REAL NOT NULL,
    negative_prompt TEXT NOT NULL,
    scheduler TEXT NOT NULL,
    request_json TEXT NOT NULL,             -- the full request, for exact reproduction
    model TEXT NOT NULL,
    mp3_path TEXT NOT NULL,                 -- relative to the data folder
    mp3_sha256 TEXT NOT NULL,
    mp3_bytes INTEGER NOT NULL,
    lufs REAL,                              -- NULL when unmeasurable (SQLite stores NaN as NULL)
    gen_seconds REAL NOT NULL,
    created_at REAL NOT NULL,
    UNIQUE (job_id, variation_index)
);

CREATE INDEX generations_by_user ON generations (user_id, created_at DESC);
CREATE INDEX generations_by_message ON generations (message_id) WHERE message_id IS NOT NULL;
CREATE INDEX generations_by_guild ON generations (guild_id, created_at DESC);

-- One row per (message, user): a user's reroll reaction on one message queues at most one job.
CREATE TABLE rerolls (
    message_id INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    job_id INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    created_at REAL NOT NULL,
    PRIMARY KEY (message_id, user_id)
) WITHOUT ROWID;

CREATE INDEX rerolls_by_job ON rerolls (job_id);
"""

_V2 = """
-- Everyone the bot has dealt with; gallery rows and votes refer to them.
CREATE TABLE users (
    id INTEGER PRIMARY KEY,                 -- the Discord user id
    name TEXT NOT NULL,
    first_seen REAL NOT NULL,
    last_seen REAL NOT NULL
);

INSERT INTO users (id, name, first_seen, last_seen)
SELECT user_id,
       (SELECT j2.user_name FROM jobs AS j2 WHERE j2.user_id = jobs.user_id
        ORDER BY j2.created_at DESC, j2.id DESC LIMIT 1),
       MIN(created_at),
       MAX(created_at)
FROM jobs
GROUP BY user_id;

-- Set by retention pruning: the row stays in the user's history, its MP3 is gone from disk.
ALTER TABLE generations ADD COLUMN mp3_pruned_at REAL;

-- History pages are newest first with the id as tie-break: (user_id, created_at) plus the
-- implicit rowid, scanned backwards, gives exactly that order without a sort. The version 1
-- index (created_at DESC) cannot, so it is rebuilt under the same name.
DROP INDEX generations_by_user;
CREATE INDEX generations_by_user ON generations (user_id, created_at);
CREATE INDEX generations_by_user_preset ON generations (user_id, preset, created_at);
-- Identical MP3s share one file: "is this file still used?" and retention look rows up by path.
CREATE INDEX generations_by_mp3 ON generations (mp3_path);
CREATE INDEX generations_by_created ON generations (created_at);

-- A server's gallery. An entry copies what it needs from its generation, so it keeps working
-- when the generation is deleted from its author's history or the Discord message is deleted.
CREATE TABLE gallery_entries (
    -- AUTOINCREMENT: buttons refer to entries by id, which must never point at a newer entry.
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    guild_id INTEGER NOT NULL,
    generation_id INTEGER REFERENCES generations (id) ON DELETE SET NULL,
    author_id INTEGER NOT NULL REFERENCES users (id),    -- who made the soundscape
    added_by INTEGER NOT NULL REFERENCES users (id),     -- who put it in the gallery
    added_at REAL NOT NULL,
    channel_id INTEGER NOT NULL,            -- where it was made
    message_id INTEGER,                     -- its result post; informative only (may be deleted)
    user_text TEXT NOT NULL,
    preset TEXT,
    request_json TEXT NOT NULL,
    model TEXT NOT NULL,
    mp3_path TEXT NOT NULL,                 -- relative to the data folder; never pruned
    mp3_sha256 TEXT NOT NULL,
    score INTEGER NOT NULL DEFAULT 0 CHECK (score >= 0),  -- votes, kept by the triggers below
    UNIQUE (guild_id, generation_id)
);

-- "top" and "newest" pages, scanned backwards (DESC with the id as tie-break) without a sort.
CREATE INDEX gallery_by_guild_score ON gallery_entries (guild_id, score, added_at);
CREATE INDEX gallery_by_guild_added ON gallery_entries (guild_id, added_at);
CREATE INDEX gallery_by_generation ON gallery_entries (generation_id) WHERE generation_id IS NOT NULL;
CREATE INDEX gallery_by_mp3 ON gallery_entries (mp3_path);

-- One vote per user and entry (a ⭐ counts once).
CREATE TABLE gallery_votes (
    entry_id INTEGER NOT NULL REFERENCES gallery_entries (id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at REAL NOT NULL,
    PRIMARY KEY (entry_id, user_id)
) WITHOUT ROWID;

CREATE INDEX gallery_votes_by_user ON gallery_votes (user_id);

CREATE TRIGGER gallery_vote_added AFTER INSERT ON gallery_votes BEGIN
    UPDATE gallery_entries SET score = score + 1 WHERE id = NEW.entry_id;
END;

CREATE TRIGGER gallery_vote_removed AFTER DELETE ON gallery_votes BEGIN
    UPDATE gallery_entries SET score = score - 1 WHERE id = OLD.entry_id;
END;

-- Messages where the bot played a gallery entry: a ⭐ on them votes for that entry.
CREATE TABLE gallery_posts (
    message_id INTEGER PRIMARY KEY,
    entry_id INTEGER NOT NULL REFERENCES gallery_entries (id) ON DELETE CASCADE,
    channel_id INTEGER NOT NULL,
    created_at REAL NOT NULL
);

CREATE INDEX gallery_posts_by_entry ON gallery_posts (entry_id);
"""

_V3 = """
-- How the audio is made beyond the request (loop, long render, best-of-N, layers), as JSON;
-- NULL for a plain clip (every job before version 3).
ALTER TABLE jobs ADD COLUMN recipe_json TEXT;

-- Best-of-N: every ranked candidate of a job, best first. Rank 0 is the one posted; the
-- others wait for a 🔁, which posts the next unserved one without GPU work.
CREATE TABLE candidates (
    job_id INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    rank INTEGER NOT NULL CHECK (rank >= 0),
    score REAL,                             -- CLAP similarity to the prompt, -1 to 1
    request_json TEXT NOT NULL,             -- reproduces this candidate on its own
    mp3_path TEXT NOT NULL,                 -- relative to the data folder
    mp3_sha256 TEXT NOT NULL,
    mp3_bytes INTEGER NOT NULL,
    lufs REAL,
    served_by_job_id INTEGER REFERENCES jobs (id) ON DELETE SET NULL,
    PRIMARY KEY (job_id, rank)
) WITHOUT ROWID;

CREATE INDEX candidates_by_mp3 ON candidates (mp3_path);
"""

_V4 = """
-- GPU cost of the job in clip units (one 10 s, 50-step clip = 1): per-user limits add it up.
ALTER TABLE jobs ADD COLUMN cost REAL NOT NULL DEFAULT 0;
-- When its user was told how the job ended (result closed with its status and 🔁, or the
-- failure/cancellation shown). NULL on an ended job: an answer is still owed (e.g. Discord was
-- unreachable), and the bot keeps trying, also after a restart.
ALTER TABLE jobs ADD COLUMN answered_at REAL;
-- Result posts whose outcome was unknown (5xx, timeout, dropped connection) and were resolved by
-- looking for the job's marker in the channel; counts every attempt.
ALTER TABLE jobs ADD COLUMN post_attempts INTEGER NOT NULL DEFAULT 0;
UPDATE jobs SET answered_at = finished_at WHERE status IN ('done', 'failed', 'cancelled');
CREATE INDEX jobs_unanswered ON jobs (answered_at, status);

-- The stems of layered scenes, one content-addressed file per stem (stems/<sha256>.npy): a
-- level change stores nothing new and a layer reroll one new stem. A file is deleted once no row
-- names it (history deletion, retention).
CREATE TABLE stems (
    job_id INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    layer INTEGER NOT NULL CHECK (layer >= 0),
    sha256 TEXT NOT NULL,
    sample_rate INTEGER NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (job_id, layer)
) WITHOUT ROWID;

CREATE INDEX stems_by_sha ON stems (sha256);
CREATE INDEX stems_by_created ON stems (created_at);
"""

_V5 = """
-- Live playback in voice: one row per server where the bot plays, so that a restart rejoins
-- the same channel and resumes the same soundscape at the same volume and sleep timer.
CREATE TABLE voice_players (
    guild_id INTEGER PRIMARY KEY,
    voice_channel_id INTEGER NOT NULL,
    text_channel_id INTEGER NOT NULL,       -- where the now-playing message is
    message_id INTEGER,                     -- the now-playing message, once posted
    track_kind TEXT NOT NULL CHECK (track_kind IN ('job', 'history', 'gallery')),
    track_id INTEGER NOT NULL,              -- the job, generation or gallery entry played
    title TEXT NOT NULL,
    mp3_path TEXT NOT NULL,                 -- relative to the data folder
    loops INTEGER NOT NULL CHECK (loops IN (0, 1)),  -- made as a loop (else looped when played)
    volume INTEGER NOT NULL CHECK (volume BETWEEN 0 AND 100),
    paused INTEGER NOT NULL DEFAULT 0 CHECK (paused IN (0, 1)),
    sleep_at REAL,                          -- epoch seconds when the sleep timer ends playback
    started_by INTEGER NOT NULL,
    updated_at REAL NOT NULL
);

-- /play prompt: the job that, once delivered, starts playing in this voice channel.
CREATE TABLE voice_requests (
    job_id INTEGER PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,
    guild_id INTEGER NOT NULL,
    voice_channel_id INTEGER NOT NULL,
    text_channel_id INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    created_at REAL NOT NULL
);
"""

_COMPARES = """
-- /compare: a blind A/B comparison of two models. One job renders both takes (its generations:
-- variation 0 is take A, 1 is take B); until the reveal their model column says it is hidden.
CREATE TABLE compares (
    job_id INTEGER PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,
    guild_id INTEGER,                       -- NULL in DMs
    user_id INTEGER NOT NULL,               -- who asked: may reveal before the vote count is reached
    preset TEXT,                            -- of the words (both takes share it), for /compare stats
    model_a TEXT NOT NULL,
    model_b TEXT NOT NULL,
    created_at REAL NOT NULL,
    revealed_at REAL,                       -- NULL while blind
    winner TEXT CHECK (winner IN ('A', 'B', 'tie'))      -- set at the reveal, from the votes
);

CREATE INDEX compares_by_guild ON compares (guild_id, revealed_at);

-- One vote per listener and comparison, changeable until the reveal.
CREATE TABLE compare_votes (
    job_id INTEGER NOT NULL REFERENCES compares (job_id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL,
    side TEXT NOT NULL CHECK (side IN ('A', 'B')),
    voted_at REAL NOT NULL,
    PRIMARY KEY (job_id, user_id)
) WITHOUT ROWID;
"""

_IDENTITY = """
-- Work handed to GPU workers through Redis is bound to the database that made it (see
-- bot/storage/identity.py): one random identity per database, drawn once, and a random nonce per
-- job, drawn at its insert, so a reset or restored database never takes another job's batch.
CREATE TABLE instance (
    id INTEGER PRIMARY KEY CHECK (id = 1),  -- one row
    identity TEXT NOT NULL CHECK (length(identity) = 16)
);

INSERT INTO instance (id, identity) VALUES (1, lower(hex(randomblob(8))));

ALTER TABLE jobs ADD COLUMN nonce TEXT;

UPDATE jobs SET nonce = lower(hex(randomblob(8)));

-- Every insert path gets its nonce here, in the inserting statement's transaction.
CREATE TRIGGER jobs_nonce AFTER INSERT ON jobs WHEN NEW.nonce IS NULL
BEGIN
    UPDATE jobs SET nonce = lower(hex(randomblob(8))) WHERE id = NEW.id;
END;
"""

_SCENES = """
-- Endless scenes in voice: what a playing server's scene is made of, so that the now-playing
-- message, the background renders and a restart all read one place. Every change writes here
-- first. One scene per server (the one its player plays).
CREATE TABLE scenes (
    guild_id INTEGER PRIMARY KEY,
    recipe TEXT NOT NULL,                   -- JSON: the request a take is rendered from (new seed each)
    source_job_id INTEGER,                  -- the job or result it was made from, if any
    layers TEXT NOT NULL,                   -- JSON list: text, gain, every_s (events), model
    levels TEXT NOT NULL,                   -- JSON list: 0-100 per layer (Levels button), live
    seed INTEGER NOT NULL,                  -- of the timeline (which take next, event onsets)
    position TEXT NOT NULL DEFAULT '{}',    -- JSON: takes played per layer, newest last
    endless INTEGER NOT NULL DEFAULT 1 CHECK (endless IN (0, 1)),
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);

-- The takes of a scene: files on disk (with the job files), decoded while playing.
CREATE TABLE scene_takes (
    id INTEGER PRIMARY KEY,
    guild_id INTEGER NOT NULL REFERENCES scenes (guild_id) ON DELETE CASCADE,
    layer INTEGER NOT NULL,                 -- index into the scene's layers
    job_id INTEGER REFERENCES jobs (id) ON DELETE SET NULL,  -- the background render that made it
    mp3_path TEXT NOT NULL,                 -- relative to the data folder
    seconds REAL NOT NULL,
    created_at REAL NOT NULL
);

CREATE INDEX scene_takes_by_guild ON scene_takes (guild_id, layer, id);
CREATE INDEX scene_takes_by_path ON scene_takes (mp3_path);
"""

#: SQL scripts; ``MIGRATIONS[i]`` takes the schema from version ``i`` to ``i + 1``.
MIGRATIONS: tuple[str, ...] = (_V1, _V2, _V3, _V4, _V5, _COMPARES, _IDENTITY, _SCENES)


def split_statements(script: str) -> list[str]:
    """Split an SQL script into single statements.

    ``executescript`` cannot be used: Python's sqlite3 commits any open transaction before it
    runs, which would apply a migration outside its transaction. ``sqlite3.complete_statement``
    knows about string literals, comments and trigger bodies, so splitting at every ``;`` that
    completes a statement is exact.
    """
    statements: list[str] = []
    buffer = ""
    pieces = script.split(";")
    for piece in pieces[:-1]:
        buffer += piece + ";"
        if sqlite3.complete_statement(buffer):
            if _has_code(buffer):
                statements.append(buffer.strip())
            buffer = ""
    buffer += pieces[-1]
    if _has_code(buffer):
        raise ValueError(f"incomplete SQL statement at the end of a migration: {buffer.strip()[:80]!r}")
    return statements


def _has_code(sql: str) -> bool:
    """Whether ``sql`` holds more than whitespace, ``--`` comments and semicolons."""
    for line in sql.splitlines():
        code = line.split("--", 1)[0].strip().strip(";").strip()
        if code:
            return True
    return False


async def migrate(db: Database, migrations: Sequence[str] = MIGRATIONS) -> int:
    """Bring ``db`` up to ``len(migrations)``; return the version it is at afterwards.

    The version is re-read inside each ``BEGIN IMMEDIATE`` transaction, so two processes opening
    the same fresh database cannot both apply a migration.
    """
    target = len(migrations)
    while True:
        async with db.transaction() as tx:
            row = await tx.fetchone("PRAGMA user_version")
            current = int(row[0]) if row is not None else 0
            if current > target:
                raise SchemaVersionError(
                    f"database {db.path} has schema version {current}, but this AmbientGen only "
                    f"knows versions up to {target}; upgrade AmbientGen or use another data folder"
                )
            if current == target:
                return current
            version = current + 1
            for statement in split_statements(migrations[current]):
                await tx.execute(statement)
            # PRAGMA takes no bound parameters; version is an int we computed.
            await tx.execute(f"PRAGMA user_version = {version:d}")
        log.info("database %s migrated to schema version %d", db.path, version)
