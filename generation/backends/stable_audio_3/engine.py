"""The Stable Audio 3 backend: converted ``stabilityai/stable-audio-3-medium[-base]`` folders, ``tiny-sa3``.

44.1 kHz stereo from a rectified-flow DiT over SAME autoencoder latents, conditioned on T5Gemma
text states and on the duration. Unlike Stable Audio Open there is no fixed window: the latent
is as long as the asked clip (4096 samples per frame), so a clip's cost grows with its duration
and a 10 s clip costs about a fifth of a 47 s one. The duration is one number per call, so it
is part of the batch key.

The published checkpoints are not in diffusers' format yet (diffusers converts them with its
``convert_stable_audio_3_to_diffusers.py`` script into a folder); the ids are recognised so that
loading one says so in one line, and a converted folder loads by its path.

The distilled ``stable-audio-3-medium`` has classifier-free guidance baked in: requests for it
should carry guidance 1 (no negative pass, half the cost) and about 8 steps; the base model
wants guidance and about 100 steps. The backend runs what the request asks. Samplers: "default"
is the checkpoint's own (ping-pong for the distilled model), "ddim" deterministic Euler steps
(DDIM's update for rectified flow). The pipeline hands its scheduler custom noise levels and a
generator, which only the flow-matching Euler schedulers accept, so "dpm++" keeps the
checkpoint's sampler; its fast quality comes from the fewer steps.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from generation.backends import library_warnings
from generation.backends.diffusers_engine import DiffusersEngine, StepCallback, prompt_lists
from generation.backends.pacing import TestPacing
from generation.backends.stable_audio_3.tiny import build_tiny_sa3_pipeline
from generation.backends.text_conditioning import MaskedTextEncoder
from generation.request import GenerationRequest
from generation.settings import TINY_SA3_MODEL_ID

if TYPE_CHECKING:
    from diffusers import StableAudio3Pipeline

library_warnings.install()

#: The pipeline's cap on T5Gemma's input length.
MAX_TEXT_TOKENS = 256


class StableAudio3Engine(DiffusersEngine):
    """Owns one loaded Stable Audio 3 pipeline and generates batches of compatible requests."""

    family = "stable-audio-3"
    denoiser = "transformer"
    tiny_id = TINY_SA3_MODEL_ID
    gated = True
    offline_hint = (
        "Stable Audio 3 loads from a folder converted with diffusers' "
        "convert_stable_audio_3_to_diffusers.py; without one use --model tiny-sa3."
    )

    def __init__(
        self,
        pipe: StableAudio3Pipeline,
        *,
        model_name: str,
        device: torch.device,
        prompt_cache_size: int = 64,
        pacing: TestPacing | None = None,
    ) -> None:
        max_length = min(getattr(pipe.tokenizer, "model_max_length", MAX_TEXT_TOKENS), MAX_TEXT_TOKENS)
        super().__init__(
            pipe,
            model_name=model_name,
            device=device,
            prompts=MaskedTextEncoder(
                pipe.tokenizer, pipe.text_encoder, device, max_length=max_length, cache_size=prompt_cache_size
            ),
            sample_rate=int(pipe.vae.config.sampling_rate),
            channels=int(pipe.vae.config.audio_channels),
            max_duration_s=float(pipe.duration_embedder.config.max_val),
            pacing=pacing,
        )

    @classmethod
    def build_tiny(cls) -> StableAudio3Pipeline:
        return build_tiny_sa3_pipeline()

    @classmethod
    def load_pretrained(cls, model_id: str, dtype: torch.dtype) -> StableAudio3Pipeline:
        from diffusers import StableAudio3Pipeline

        return StableAudio3Pipeline.from_pretrained(model_id, torch_dtype=dtype)

    def _make_scheduler(self, name: str, base_config: dict[str, Any]) -> object:
        from diffusers import FlowMatchEulerDiscreteScheduler

        if name == "ddim":
            return FlowMatchEulerDiscreteScheduler.from_config(base_config, stochastic_sampling=False)
        if name == "dpm++":
            return self.scheduler("default")
        raise ValueError(f"unknown scheduler {name!r}")

    def _run(
        self,
        requests: Sequence[GenerationRequest],
        generators: list[torch.Generator],
        waveforms_per_request: int,
        on_step: StepCallback,
    ) -> np.ndarray:
        first = requests[0]
        text = self.prompts.batch(*prompt_lists(requests))

        def step_end(
            _pipe: object, index: int, _timestep: object, _tensors: dict[str, Any]
        ) -> dict[str, Any]:
            on_step(index)
            return {}

        output = self.pipe(
            prompt_embeds=text.embeds,
            encoder_attention_mask=text.mask,
            negative_prompt_embeds=text.negative_embeds,
            negative_encoder_attention_mask=text.negative_mask,
            duration=first.duration_s,
            num_inference_steps=first.steps,
            guidance_scale=first.guidance,
            num_waveforms_per_prompt=waveforms_per_request,
            generator=generators,
            callback_on_step_end=step_end,
            output_type="np",
        )
        return output.audios
