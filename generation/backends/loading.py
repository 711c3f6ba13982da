"""Loading any family's model: the built-in tiny build or a checkpoint, placed on its device.

Shared by every :class:`generation.backends.diffusers_engine.DiffusersEngine` family through its
``load`` classmethod; :func:`generation.backends.registry.load_backend` picks the family.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

import torch

from generation.backends.devices import place, resolve_device, resolve_dtype
from generation.backends.hub import model_unavailable, quiet_loading
from generation.backends.pacing import TestPacing
from generation.errors import ModelUnavailable
from generation.settings import model_display_name

if TYPE_CHECKING:
    from generation.backends.diffusers_engine import DiffusersEngine
    from generation.settings import EngineSettings

log = logging.getLogger(__name__)


def load_engine(cls: type[DiffusersEngine], settings: EngineSettings) -> DiffusersEngine:
    """Load ``settings.model_id`` with the family ``cls``; raises ModelUnavailable with one line.

    The family's tiny id builds its random model in code (and alone honours the test-only
    pacing); anything else is a hub id or a folder, loaded with the libraries' own logging
    silenced so that a failure reads as one line (see :mod:`generation.backends.hub`).
    """
    from generation.backends.registry import family_of

    family = family_of(settings.model_id)
    if family.key != cls.family:
        raise ModelUnavailable(
            f"{settings.model_id!r} is a {family.title} model; {cls.__name__} loads {cls.family} models "
            "(generation.backends.registry.load_backend picks the right one)."
        )
    started = time.perf_counter()
    device = resolve_device(settings.device)
    dtype = resolve_dtype(settings.dtype, device)
    pacing = None
    if settings.model_id == cls.tiny_id:
        pipe = cls.build_tiny()
        if dtype != torch.float32:
            pipe.to(dtype=dtype)
        pacing = TestPacing(
            settings.test_hold_file, settings.test_step_delay_ms / 1000, settings.test_fail_file
        )
    else:
        try:
            with quiet_loading():
                pipe = cls.load_pretrained(settings.model_id, dtype)
        except Exception as exc:  # OSError, hub HTTP/validation errors, bad folder layouts
            raise model_unavailable(
                settings.model_id, exc, gated=cls.gated, offline_hint=cls.offline_hint
            ) from exc
    attention = cls.prepare(pipe)
    offload = place(pipe, settings, device)
    log.info(
        "model %s (%s) loaded on %s (%s, offload=%s, attention=%s) in %.1fs",
        settings.model_id,
        cls.family,
        device,
        str(dtype).removeprefix("torch."),
        offload,
        attention,
        time.perf_counter() - started,
    )
    engine = cls.create(
        pipe,
        model_name=model_display_name(settings.model_id),  # never a folder's full path
        device=device,
        prompt_cache_size=settings.prompt_cache_size,
        pacing=pacing,
    )
    if settings.compile:
        engine.compile(settings.compile_backend)
    return engine
