"""Best-of-N: generate N candidates of one request and rank them with a CLAP model.

diffusers ranks automatically only when the pipeline is called with a text ``prompt`` and
``librosa`` is installed; the engine passes precomputed embeddings (see
:mod:`generation.backends.audioldm2.conditioning`), so ranking is done here, the same way:
CLAP's text embedding of the prompt the model saw against CLAP's audio embedding of each waveform, by cosine
similarity (higher is better).

Differences from ``AudioLDM2Pipeline.score_waveforms``, all for determinism and fidelity:

* Resampling to CLAP's 48 kHz uses ``scipy.signal.resample_poly`` (an exact rational-ratio
  polyphase filter; 16 kHz → 48 kHz is ×3) instead of librosa's soxr: the model's audio has
  nothing above 8 kHz for either filter to treat differently, and it spares the librosa/numba
  dependency.
* The whole clip is scored, in consecutive windows of the longest input CLAP's audio encoder
  accepts (10 s for the real checkpoint), averaging the window similarities. The feature
  extractor's own handling of long audio takes *random* crops (global NumPy RNG); windows no
  longer than its maximum are never cropped, so scores are deterministic.

Any backend ranks this way (:meth:`generation.backends.base.Backend.clap_scores`): AudioLDM2
with its own CLAP, Stable Audio with a CLAP loaded beside it (:mod:`generation.backends.clap`).
Stereo candidates are scored on their mono downmix (CLAP hears one channel), resampled from
the model's rate (16 kHz ×3, 44.1 kHz ×160/147) to CLAP's 48 kHz.

Candidate ``i`` is the request with seed ``seed + i``: the engine's batch independence makes it
exactly the audio that request gives alone, so every candidate can be stored and reproduced.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy.signal import resample_poly

from generation.audio.channels import downmix
from generation.errors import GenerationError, ModelUnavailable, RequestError
from generation.request import MAX_SEED, GenerationRequest

if TYPE_CHECKING:
    import torch
    from diffusers import AudioLDM2Pipeline

    from generation.backends.base import Backend, ProgressCallback
    from generation.backends.clap import ClapComponents

MIN_CANDIDATES = 1
MAX_CANDIDATES = 4

#: A trailing window shorter than this share of a full one is dropped when the clip has others:
#: CLAP would mostly hear it repeated to fill the window.
MIN_TAIL_WINDOW = 0.5


def check_candidates(candidates: object) -> int:
    """``candidates`` as an int from 1 to 4, or :class:`RequestError` saying so."""
    bounds = f"between {MIN_CANDIDATES} and {MAX_CANDIDATES}"
    if isinstance(candidates, bool) or not isinstance(candidates, numbers.Integral):
        raise RequestError(f"Candidates must be a whole number {bounds}; you passed {candidates!r}.")
    if not MIN_CANDIDATES <= int(candidates) <= MAX_CANDIDATES:
        raise RequestError(f"Candidates must be {bounds}; you asked for {int(candidates)}.")
    return int(candidates)


@dataclass(frozen=True, eq=False)
class Candidate:
    """One generated waveform with its CLAP score and place in the ranking."""

    request: GenerationRequest
    """The request that reproduces this audio on its own (its seed is the candidate's)."""
    audio: np.ndarray
    score: float
    """Mean cosine similarity of CLAP's text and audio embeddings, -1 to 1."""
    rank: int
    """0 for the best."""


@dataclass(frozen=True, eq=False)
class RankedCandidates:
    """Candidates ordered best first (by descending score; ties keep generation order)."""

    candidates: tuple[Candidate, ...]
    text: str
    """The text the audio was scored against."""

    @property
    def best(self) -> Candidate:
        """The candidate to post."""
        return self.candidates[0]

    def next_after(self, served: int) -> Candidate | None:
        """The candidate to offer once ``served`` have been shown (🔁), or ``None`` when all have:
        then a reroll needs a new seed and the GPU."""
        return self.candidates[served] if 0 <= served < len(self.candidates) else None


def _clap_window(pipe: ClapComponents | AudioLDM2Pipeline) -> int:
    """Samples (at CLAP's rate) of the longest window the feature extractor and encoder accept."""
    extractor = pipe.feature_extractor
    audio_config = pipe.text_encoder.config.audio_config
    # The encoder reshapes the mel frames into a square image of spec_size * freq_ratio frames;
    # the extractor makes samples // hop + 1 frames.
    frames = audio_config.spec_size * (audio_config.spec_size // audio_config.num_mel_bins)
    return int(min(extractor.nb_max_samples, (frames - 1) * extractor.hop_length))


def _windows(audio: np.ndarray, sample_rate: int, target_rate: int, window: int) -> list[np.ndarray]:
    gcd = math.gcd(sample_rate, target_rate)
    x = downmix(np.asarray(audio, dtype=np.float64))
    resampled = resample_poly(x, target_rate // gcd, sample_rate // gcd)
    pieces = [resampled[i : i + window] for i in range(0, resampled.shape[0], window)]
    if len(pieces) > 1 and pieces[-1].shape[0] < MIN_TAIL_WINDOW * window:
        pieces.pop()
    return pieces


def clap_scores(
    pipe: ClapComponents | AudioLDM2Pipeline,
    text: str,
    waveforms: Sequence[np.ndarray],
    sample_rate: int,
    device: torch.device | str = "cpu",
) -> list[float]:
    """CLAP similarity of each waveform (mono, or ``(n, 2)`` downmixed) to ``text`` (mean over the
    clip's windows), in order. ``pipe`` is anything with CLAP's ``text_encoder``, ``tokenizer``
    and ``feature_extractor``: an AudioLDM2 pipeline or :class:`ClapComponents`."""
    if not waveforms:
        return []
    extractor = pipe.feature_extractor
    clap = pipe.text_encoder
    window = _clap_window(pipe)
    per_clip = [_windows(w, sample_rate, extractor.sampling_rate, window) for w in waveforms]
    pieces = [piece for clip in per_clip for piece in clip]
    features = extractor(
        pieces,
        # Never cropped (no window is longer than max_length), so no random choice is made.
        truncation="fusion" if clap.config.audio_config.enable_fusion else "rand_trunc",
        padding="repeatpad",
        max_length=window,
        sampling_rate=extractor.sampling_rate,
        return_tensors="pt",
    )
    tokens = pipe.tokenizer([text], padding=True, truncation=True, return_tensors="pt")
    import torch  # here, so that ranking's pure parts import without torch

    with torch.inference_mode():
        output = clap(
            input_ids=tokens.input_ids.to(device),
            attention_mask=tokens.attention_mask.to(device),
            input_features=features.input_features.to(device=device, dtype=clap.dtype),
            # The extractor marks one short input "longer" at random for fusion training; none is.
            is_longer=torch.zeros_like(features.is_longer).to(device),
        )
        similarity = (output.audio_embeds.float() @ output.text_embeds.float().T).squeeze(1).cpu().numpy()
    scores: list[float] = []
    first = 0
    for clip in per_clip:
        scores.append(float(np.mean(similarity[first : first + len(clip)])))
        first += len(clip)
    return scores


def rank_candidates(
    requests: Sequence[GenerationRequest], waveforms: Sequence[np.ndarray], scores: Sequence[float], text: str
) -> RankedCandidates:
    """Order candidates by descending score (generation order breaks ties)."""
    if not len(requests) == len(waveforms) == len(scores):
        raise ValueError("requests, waveforms and scores must be equally long")
    order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
    return RankedCandidates(
        candidates=tuple(
            Candidate(request=requests[i], audio=waveforms[i], score=float(scores[i]), rank=rank)
            for rank, i in enumerate(order)
        ),
        text=text,
    )


def candidate_requests(request: GenerationRequest, candidates: int) -> list[GenerationRequest]:
    """The requests of ``candidates`` candidates: seeds ``seed``, ``seed + 1``, … (wrapping)."""
    count = check_candidates(candidates)
    return [request.with_seed((request.seed + i) % (MAX_SEED + 1)) for i in range(count)]


def generate_ranked(
    engine: Backend,
    request: GenerationRequest,
    candidates: int,
    *,
    progress: ProgressCallback | None = None,
) -> RankedCandidates:
    """Generate ``candidates`` waveforms of ``request`` in one batch and rank them against its prompt.

    Runs on the engine's thread (it uses the model). ``progress`` reports the denoising steps.
    """
    from generation.backends.devices import is_out_of_memory

    requests = candidate_requests(request, candidates)
    waveforms = engine.generate(requests, progress=progress)
    try:
        scores = engine.clap_scores(request.prompt, waveforms)
    except ModelUnavailable:
        raise  # its own clear line (the CLAP model could not be loaded)
    except Exception as exc:
        if is_out_of_memory(exc):
            engine.free_memory()
        raise GenerationError(f"ranking failed: {type(exc).__name__}: {exc}") from exc
    return rank_candidates(requests, waveforms, scores, request.prompt)
