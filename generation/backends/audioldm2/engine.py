"""The AudioLDM2 backend: ``cvssp/audioldm2``, ``-large``, local folders and the built-in ``tiny``.

16 kHz mono. The cost grows with the asked duration (the UNet denoises exactly the clip's mel
frames). CLAP is the pipeline's own first text encoder, so best-of-N ranks with it.
The engine is not thread-safe by design: exactly one thread (the GPU executor's) owns it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from generation.backends import library_warnings
from generation.backends.audioldm2.conditioning import PromptEncoder
from generation.backends.audioldm2.tiny import TINY_MODEL_ID, build_tiny_pipeline
from generation.backends.base import ProgressCallback

# Shared with the other families since the backend interface; importable from here as before.
from generation.backends.devices import OFFLOAD_BELOW_BYTES, is_out_of_memory, resolve_device, resolve_dtype
from generation.backends.diffusers_engine import (
    BATCH_MEMORY_SHARE,
    DEFAULT_AUTO_BATCH,
    MAX_AUTO_BATCH,
    WARM_UP_STEPS,
    DiffusersEngine,
    StepCallback,
    prompt_lists,
)
from generation.backends.pacing import TestPacing
from generation.request import GenerationRequest
from generation.settings import EngineSettings

if TYPE_CHECKING:
    from diffusers import AudioLDM2Pipeline

    from generation.backends.clap import ClapComponents

__all__ = [
    "BATCH_MEMORY_SHARE",
    "DEFAULT_AUTO_BATCH",
    "MAX_AUTO_BATCH",
    "OFFLOAD_BELOW_BYTES",
    "WARM_UP_STEPS",
    "AudioEngine",
    "EngineSettings",
    "ProgressCallback",
    "is_out_of_memory",
    "resolve_device",
    "resolve_dtype",
    "use_sdpa_attention",
]

log = logging.getLogger(__name__)
library_warnings.install()

#: The real checkpoint's GPT-2 generates 8 "audio tokens"; the pipeline needs it in the config.
DEFAULT_MAX_NEW_TOKENS = 8
#: The longest clip: the bound every entry point enforces (the UNet itself has no fixed window).
MAX_CLIP_S = 30.0
#: The warm-up clip: the usual duration (the steps are :data:`WARM_UP_STEPS`).
WARM_UP_DURATION_S = 10.0


def use_sdpa_attention(pipe: AudioLDM2Pipeline) -> str:
    """Make sure the UNet runs PyTorch's fused scaled-dot-product attention; returns its name.

    diffusers picks it by default on PyTorch 2; this guards against a checkpoint or an older
    code path that set the classic (memory-hungry) processor.
    """
    from diffusers.models.attention_processor import AttnProcessor, AttnProcessor2_0

    processors = pipe.unet.attn_processors.values()
    if any(type(p) is AttnProcessor for p in processors):
        pipe.unet.set_attn_processor(AttnProcessor2_0())
    names = sorted({type(p).__name__ for p in pipe.unet.attn_processors.values()})
    return "sdpa" if names == ["AttnProcessor2_0"] else "+".join(names)


class AudioEngine(DiffusersEngine):
    """Owns one loaded AudioLDM2 pipeline and generates batches of compatible requests."""

    family = "audioldm2"
    denoiser = "unet"
    tiny_id = TINY_MODEL_ID
    offline_hint = "Without internet access use --model tiny or the path of a downloaded checkpoint folder."

    def __init__(
        self,
        pipe: AudioLDM2Pipeline,
        *,
        model_name: str,
        device: torch.device,
        prompt_cache_size: int = 64,
        pacing: TestPacing | None = None,
    ) -> None:
        super().__init__(
            pipe,
            model_name=model_name,
            device=device,
            prompts=PromptEncoder(pipe, device, cache_size=prompt_cache_size),
            sample_rate=int(pipe.vocoder.config.sampling_rate),
            channels=1,
            max_duration_s=MAX_CLIP_S,
            pacing=pacing,
        )

    @classmethod
    def build_tiny(cls) -> AudioLDM2Pipeline:
        return build_tiny_pipeline()

    @classmethod
    def load_pretrained(cls, model_id: str, dtype: torch.dtype) -> AudioLDM2Pipeline:
        """A hub checkpoint or a local folder saved with ``save_pretrained``."""
        from diffusers import AudioLDM2Pipeline
        from transformers import GPT2LMHeadModel

        # The checkpoint stores its language model as GPT2Model, which under transformers 5 has no
        # generation helpers; GPT2LMHeadModel loads the same weights (the LM head is unused) and
        # gives identical hidden states. dtype is explicit because the hub CLAP config says float64.
        language_model = GPT2LMHeadModel.from_pretrained(model_id, subfolder="language_model", dtype=dtype)
        if getattr(language_model.config, "max_new_tokens", None) is None:
            language_model.config.max_new_tokens = DEFAULT_MAX_NEW_TOKENS
        return AudioLDM2Pipeline.from_pretrained(model_id, language_model=language_model, torch_dtype=dtype)

    @classmethod
    def prepare(cls, pipe: AudioLDM2Pipeline) -> str:
        return use_sdpa_attention(pipe)

    def compile_unet(self, backend: str = "inductor") -> None:
        """Wrap the UNet in ``torch.compile`` (see :meth:`compile`)."""
        self.compile(backend)

    def _make_scheduler(self, name: str, base_config: dict[str, Any]) -> object:
        from diffusers import DDIMScheduler, DPMSolverMultistepScheduler

        if name == "dpm++":
            return DPMSolverMultistepScheduler.from_config(
                base_config, algorithm_type="dpmsolver++", solver_order=2, use_karras_sigmas=True
            )
        if name == "ddim":
            return DDIMScheduler.from_config(base_config)
        raise ValueError(f"unknown scheduler {name!r}")

    def _run(
        self,
        requests: Sequence[GenerationRequest],
        generators: list[torch.Generator],
        waveforms_per_request: int,
        on_step: StepCallback,
    ) -> np.ndarray:
        first = requests[0]
        conditioning = self.prompts.batch(*prompt_lists(requests))
        output = self.pipe(
            **conditioning.kwargs,
            num_inference_steps=first.steps,
            audio_length_in_s=first.duration_s,
            guidance_scale=first.guidance,
            num_waveforms_per_prompt=waveforms_per_request,
            generator=generators,
            callback=lambda step, _timestep, _latents: on_step(step),
            callback_steps=1,
            output_type="np",
        )
        return output.audios

    def clap(self) -> ClapComponents | AudioLDM2Pipeline:  # type: ignore[override]
        """The pipeline itself: its first text encoder is CLAP (with tokenizer and feature extractor)."""
        return self.pipe
