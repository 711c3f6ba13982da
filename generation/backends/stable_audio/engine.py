"""The Stable Audio Open backend: ``stabilityai/stable-audio-open-1.0``, local folders, ``tiny-sao``.

44.1 kHz stereo from a DiT over Oobleck VAE latents, conditioned on T5 text states and on the
clip's start and end in seconds. Two properties of diffusers' ``StableAudioPipeline`` shape the
batching:

* it always denoises the full window (1024 latents, 47.55 s) and crops to ``audio_end_in_s``
  afterwards, so a clip costs the same whatever its length (:meth:`denoised_seconds`); a shorter
  window would be faster but the model was trained on full windows — see docs/benchmarks.md for
  what it costs and saves;
* it takes one ``audio_end_in_s`` per call, so the duration is part of the batch key.

Samplers: the checkpoint's scheduler is cosine DPM-Solver++ 2M SDE (``torchsde`` noise). The
model's timestep conditioning is tied to that scheduler's noise preconditioning, so the other
names are variants of it, not other schedulers: "dpm++" uses Karras-spaced noise levels (better
at the fast quality's few steps), "ddim" first-order steps.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from generation.backends import library_warnings
from generation.backends.diffusers_engine import DiffusersEngine, StepCallback, prompt_lists
from generation.backends.pacing import TestPacing
from generation.backends.stable_audio.tiny import build_tiny_sao_pipeline
from generation.backends.text_conditioning import MaskedTextEncoder
from generation.request import GenerationRequest
from generation.settings import TINY_SAO_MODEL_ID

if TYPE_CHECKING:
    from diffusers import StableAudioPipeline

library_warnings.install()


class StableAudioEngine(DiffusersEngine):
    """Owns one loaded Stable Audio Open pipeline and generates batches of compatible requests."""

    family = "stable-audio-open"
    denoiser = "transformer"
    tiny_id = TINY_SAO_MODEL_ID
    gated = True
    offline_hint = (
        "Without internet access use --model tiny-sao or the path of a downloaded checkpoint folder."
    )

    def __init__(
        self,
        pipe: StableAudioPipeline,
        *,
        model_name: str,
        device: torch.device,
        prompt_cache_size: int = 64,
        pacing: TestPacing | None = None,
    ) -> None:
        vae = pipe.vae
        sample_rate = int(vae.config.sampling_rate)
        self.window_s = pipe.transformer.config.sample_size * vae.hop_length / sample_rate
        """The audio the DiT denoises on every call, whatever the clip's length."""
        super().__init__(
            pipe,
            model_name=model_name,
            device=device,
            prompts=MaskedTextEncoder(
                pipe.tokenizer,
                pipe.text_encoder,
                device,
                max_length=pipe.tokenizer.model_max_length,
                cache_size=prompt_cache_size,
            ),
            sample_rate=sample_rate,
            channels=int(vae.config.audio_channels),
            max_duration_s=self.window_s,
            pacing=pacing,
        )

    @classmethod
    def build_tiny(cls) -> StableAudioPipeline:
        return build_tiny_sao_pipeline()

    @classmethod
    def load_pretrained(cls, model_id: str, dtype: torch.dtype) -> StableAudioPipeline:
        from diffusers import StableAudioPipeline

        return StableAudioPipeline.from_pretrained(model_id, torch_dtype=dtype)

    def denoised_seconds(self, duration_s: float) -> float:
        """Always the full window: the pipeline crops after denoising."""
        return self.window_s

    def _make_scheduler(self, name: str, base_config: dict[str, Any]) -> object:
        from diffusers import CosineDPMSolverMultistepScheduler

        if name == "dpm++":
            return CosineDPMSolverMultistepScheduler.from_config(base_config, sigma_schedule="karras")
        if name == "ddim":
            return CosineDPMSolverMultistepScheduler.from_config(base_config, solver_order=1)
        raise ValueError(f"unknown scheduler {name!r}")

    def _run(
        self,
        requests: Sequence[GenerationRequest],
        generators: list[torch.Generator],
        waveforms_per_request: int,
        on_step: StepCallback,
    ) -> np.ndarray:
        first = requests[0]
        # Every request's negative is encoded, "" included (the pipeline's own handling of a list
        # of negatives), so a request's conditioning never depends on the others in its batch.
        text = self.prompts.batch(*prompt_lists(requests))
        output = self.pipe(
            prompt_embeds=text.embeds,
            attention_mask=text.mask,
            negative_prompt_embeds=text.negative_embeds,
            negative_attention_mask=text.negative_mask,
            audio_start_in_s=0.0,
            audio_end_in_s=first.duration_s,
            num_inference_steps=first.steps,
            guidance_scale=first.guidance,
            num_waveforms_per_prompt=waveforms_per_request,
            generator=generators,
            callback=lambda step, _timestep, _latents: on_step(step),
            callback_steps=1,
            output_type="np",
        )
        return output.audios
