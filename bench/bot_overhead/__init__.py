"""The bot's own overhead: everything a job costs outside the pipeline call, through the real path.

Runs the real ``ambientgen run`` process with the built-in tiny model against the Discord
stand-in (REST + gateway on 127.0.0.1), has ``--users`` users each send one ``/ambient`` at
the same moment, waits until every result is posted, stops the bot and reads its SQLite
database and log:

* per job, the time outside the pipeline call: ``(finished_at - started_at) - gen_seconds``
  (queue bookkeeping, MP3 finishing, storage, upload), in ms and as a share of the job's time;
* the command round trip a user sees (interaction sent → deferred response);
* the executor's idle gaps while work was waiting (from the bot's log);
* jobs per minute, batch sizes and pipeline seconds per job;
* the event loop's worst stall.

Every result is checked: each job ``done`` with exactly one result message carrying a
decodable MP3 of the asked length. Nothing here is a GPU measurement: the tiny model runs on
the CPU, which the bot shares with the stand-in and this script.

    python -m bench.bot_overhead --users 20 --steps 50 --duration 10 --output report.json
"""

from bench.bot_overhead.cli import main
from bench.bot_overhead.run import run_benchmark
from bench.bot_overhead.settings import BenchmarkError, Settings

__all__ = ["BenchmarkError", "Settings", "main", "run_benchmark"]
