"""Log lines as ``key=value`` records, each carrying the job it belongs to (``job=-`` when none)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from contextvars import ContextVar

#: The job the current task (or GPU thread, which copies the context) is working on.
current_job: ContextVar[str] = ContextVar("current_job", default="-")

FORMAT = "%(asctime)s level=%(levelname)s job=%(job)s logger=%(name)s msg=%(message)s"


class JobFilter(logging.Filter):
    """Adds ``record.job`` from the context, so every line names its job."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.job = current_job.get()
        return True


@contextlib.contextmanager
def job_context(job_id: int) -> Iterator[None]:
    """Everything logged inside (and in tasks or threads started inside) names ``job_id``."""
    token = current_job.set(str(job_id))
    try:
        yield
    finally:
        current_job.reset(token)


def configure_logging(verbose: bool = False) -> None:
    handler = logging.StreamHandler()
    handler.addFilter(JobFilter())
    handler.setFormatter(logging.Formatter(FORMAT))
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, handlers=[handler], force=True)
    # Library chatter (download retries, dtype notes) is not for operators unless asked.
    for noisy in ("diffusers", "transformers", "huggingface_hub", "httpx"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if verbose else logging.ERROR)
