"""Exception types of the generation side. Messages are written for the person who asked."""

from __future__ import annotations


class RequestError(ValueError):
    """A request a user can fix: the message says what is wrong and what is allowed."""


class GenerationError(RuntimeError):
    """The model failed on a valid request."""


class OutOfMemory(GenerationError):
    """The accelerator ran out of memory for this batch."""


class ModelUnavailable(GenerationError):
    """The model could not be loaded (not downloadable, not a folder, wrong format)."""


class Cancelled(Exception):
    """Raised from a progress callback to stop a generation between steps."""


class StuckGeneration(GenerationError):
    """No denoising step finished within the watchdog's limit; the executor was rebuilt."""
