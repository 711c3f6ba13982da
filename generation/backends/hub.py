"""Published checkpoints: turn whatever the Hugging Face hub (or a folder) refused into one clear line.

The Stable Audio weights are *gated*: their pages ask each user to accept a licence, and the hub
then serves the files only with an access token of that user. ``huggingface_hub`` reads the
token from the ``HF_TOKEN`` environment variable (or from ``hf auth login``). Without one the
hub answers 401 "GatedRepo"; with a token of someone who has not accepted, 403 "GatedRepo".
diffusers wraps those in an ``OSError`` about the local cache; the original error stays on the
exception chain, which is where :func:`model_unavailable` looks.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path

from generation.errors import ModelUnavailable

#: The environment variable huggingface_hub reads the access token from.
HF_TOKEN_ENV = "HF_TOKEN"
HUB_URL = "https://huggingface.co"
#: Loggers that narrate a failed download at length; the one line of ModelUnavailable replaces them.
_CHATTY_LOGGERS = ("diffusers", "transformers", "huggingface_hub")


def model_page(model_id: str) -> str:
    """The model's page on Hugging Face, where its licence is accepted."""
    return f"{HUB_URL}/{model_id}"


def is_folder(model_id: str) -> bool:
    return Path(model_id).expanduser().exists()


def token_available() -> bool:
    """Whether huggingface_hub has an access token (``HF_TOKEN`` or a saved login)."""
    from huggingface_hub import get_token

    return get_token() is not None


@contextlib.contextmanager
def quiet_loading() -> Iterator[None]:
    """Silence the libraries' own warnings while a checkpoint loads; a failure is reported once,
    by :func:`model_unavailable`, instead of as a page of retries and cache notes."""
    loggers = [logging.getLogger(name) for name in _CHATTY_LOGGERS]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _summary(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return f"{type(exc).__name__}: {lines[0][:160] if lines else 'no details'}"


def model_unavailable(
    model_id: str, exc: BaseException, *, gated: bool, offline_hint: str
) -> ModelUnavailable:
    """One line saying why ``model_id`` could not be loaded and what to do about it.

    ``gated`` marks families whose published weights need an accepted licence and a token;
    ``offline_hint`` says what works without the hub (a built-in model, a folder).
    """
    from huggingface_hub.errors import (
        GatedRepoError,
        LocalEntryNotFoundError,
        OfflineModeIsEnabled,
        RepositoryNotFoundError,
    )

    chain = _chain(exc)
    if is_folder(model_id):
        return ModelUnavailable(f"Could not load folder {model_id!r} ({_summary(exc)}). {offline_hint}")
    page = model_page(model_id)
    token = token_available()
    if any(isinstance(e, GatedRepoError) for e in chain):
        if token:
            return ModelUnavailable(
                f"{model_id} is gated and Hugging Face refused the access token ({HF_TOKEN_ENV}): accept "
                f"the licence at {page} with the account the token belongs to, then start again."
            )
        return ModelUnavailable(
            f"{model_id} is gated: accept its licence at {page}, then give a Hugging Face access "
            f"token (export {HF_TOKEN_ENV}=hf_..., or run `hf auth login`) and start again."
        )
    if any(isinstance(e, RepositoryNotFoundError) for e in chain):
        if gated and not token:
            # Without a token the hub answers a gated model as it answers a missing one.
            return ModelUnavailable(
                f"{model_id} was not found on Hugging Face, or it is gated and needs a token: accept its "
                f"licence at {page}, export {HF_TOKEN_ENV}=hf_... and start again."
            )
        return ModelUnavailable(f"{model_id} was not found on Hugging Face ({page}). {offline_hint}")
    offline = (LocalEntryNotFoundError, OfflineModeIsEnabled, ConnectionError, TimeoutError)
    if any(isinstance(e, offline) or type(e).__name__.startswith(("Connect", "Timeout")) for e in chain):
        return ModelUnavailable(
            f"Could not download {model_id}: Hugging Face is unreachable and the model is not in the "
            f"local cache ({_summary(chain[-1])}). {offline_hint}"
        )
    return ModelUnavailable(f"Could not load model {model_id!r} ({_summary(exc)}). {offline_hint}")
