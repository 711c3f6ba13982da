"""The models the throughput benchmark measures, each as a full-size build and a tiny one.

A :class:`Subject` knows how to build its pipeline (the published architecture with random
weights, or the built-in tiny model), how the library's own documentation calls it (the naive
baseline), the shape of its latent, and which backend serves it. Heavy imports happen inside the
builders, so the benchmark's ``--help`` stays instant.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import torch

    from generation.request import GenerationRequest


def _audioldm2_full(device: torch.device, dtype: torch.dtype, seed: int) -> Any:
    from bench.full_size import build_full_pipeline

    return build_full_pipeline(device, dtype, seed=seed)


def _audioldm2_tiny(seed: int) -> Any:
    from generation.backends.audioldm2.tiny import build_tiny_pipeline

    return build_tiny_pipeline(seed=seed)


def _audioldm2_check(pipe: Any) -> int:
    from bench.full_size import check_parameter_count

    return check_parameter_count(pipe)


def _audioldm2_latent(pipe: Any, duration_s: float) -> tuple[int, ...]:
    from bench.full_size import latent_shape

    return latent_shape(pipe, duration_s)


def _audioldm2_naive(pipe: Any, request: GenerationRequest, steps: int, duration_s: float) -> np.ndarray:
    """The model card's usage: prompt strings, one call per request."""
    return pipe(
        request.prompt,
        negative_prompt=request.negative_prompt,
        num_inference_steps=steps,
        audio_length_in_s=duration_s,
    ).audios[0]


def _sao_full(device: torch.device, dtype: torch.dtype, seed: int) -> Any:
    from bench.full_size_sao import build_full_sao_pipeline

    return build_full_sao_pipeline(device, dtype, seed=seed)


def _sao_tiny(seed: int) -> Any:
    from generation.backends.stable_audio.tiny import build_tiny_sao_pipeline

    return build_tiny_sao_pipeline(seed=seed)


def _sao_check(pipe: Any) -> int:
    from bench.full_size_sao import check_parameter_count

    return check_parameter_count(pipe)


def _sao_latent(pipe: Any, duration_s: float) -> tuple[int, ...]:
    from bench.full_size_sao import latent_shape

    return latent_shape(pipe, duration_s)


def _sao_naive(pipe: Any, request: GenerationRequest, steps: int, duration_s: float) -> np.ndarray:
    """The model card's usage: a prompt string and ``audio_end_in_s``, one call per request."""
    return pipe(
        request.prompt,
        negative_prompt=request.negative_prompt,
        num_inference_steps=steps,
        audio_end_in_s=duration_s,
        output_type="np",
    ).audios[0]


@dataclass(frozen=True)
class Subject:
    """One model family under test."""

    key: str
    """The family's registry key (generation.backends.registry)."""
    full_name: str
    build_full: Callable[[torch.device, torch.dtype, int], Any]
    build_tiny: Callable[[int], Any]
    check_parameter_count: Callable[[Any], int]
    latent_shape: Callable[[Any, float], tuple[int, ...]]
    naive: Callable[[Any, GenerationRequest, int, float], np.ndarray]
    """The library's documented call for one request: the baseline."""
    denoiser: str
    fixed_window: bool = False
    """Whether the pipeline denoises a fixed window and crops (Stable Audio Open)."""

    def engine_class(self) -> type:
        from generation.backends.registry import FAMILIES

        return next(f for f in FAMILIES if f.key == self.key).engine_class()


AUDIOLDM2 = Subject(
    key="audioldm2",
    full_name="cvssp/audioldm2 (architecture, random weights)",
    build_full=_audioldm2_full,
    build_tiny=_audioldm2_tiny,
    check_parameter_count=_audioldm2_check,
    latent_shape=_audioldm2_latent,
    naive=_audioldm2_naive,
    denoiser="unet",
)
STABLE_AUDIO_OPEN = Subject(
    key="stable-audio-open",
    full_name="stabilityai/stable-audio-open-1.0 (architecture, random weights)",
    build_full=_sao_full,
    build_tiny=_sao_tiny,
    check_parameter_count=_sao_check,
    latent_shape=_sao_latent,
    naive=_sao_naive,
    denoiser="transformer",
    fixed_window=True,
)
SUBJECTS: dict[str, Subject] = {s.key: s for s in (AUDIOLDM2, STABLE_AUDIO_OPEN)}


def fitted_window_latents(pipe: Any, duration_s: float) -> int:
    """The fewest Stable Audio Open latents that hold ``duration_s`` (the shorter window)."""
    return math.ceil(duration_s * pipe.vae.config.sampling_rate / pipe.vae.hop_length)
