"""How the model is loaded: plain data, importable without torch."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PureWindowsPath

DEFAULT_MODEL_ID = "cvssp/audioldm2"
#: The built-in tiny random model (no download; see generation.backends.audioldm2.tiny).
TINY_MODEL_ID = "tiny"
#: Built-in tiny random builds of the Stable Audio families (generation.backends.stable_audio*.tiny).
TINY_SAO_MODEL_ID = "tiny-sao"
TINY_SA3_MODEL_ID = "tiny-sa3"
#: Every built-in model: offline, random weights, the only ones that honour the test-only pacing.
TINY_MODEL_IDS: tuple[str, ...] = (TINY_MODEL_ID, TINY_SAO_MODEL_ID, TINY_SA3_MODEL_ID)
#: The published Stable Audio checkpoints (gated on Hugging Face: accept the licence, set HF_TOKEN).
STABLE_AUDIO_OPEN_MODEL_ID = "stabilityai/stable-audio-open-1.0"
STABLE_AUDIO_3_MODEL_ID = "stabilityai/stable-audio-3-medium"
DTYPES: tuple[str, ...] = ("float16", "bfloat16", "float32")
OFFLOAD_MODES: tuple[str, ...] = ("auto", "on", "off")

# A Hugging Face hub id: "name" or "owner/name", of letters, digits and - _ . only.
_HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*(/[A-Za-z0-9][\w.-]*)?")


def model_display_name(model_id: str) -> str:
    """How a model is named to users (result cards, ``/status``, MP3 tags).

    A hub id ("cvssp/audioldm2") or "tiny" is shown as is; a local folder only by its own name
    ("/srv/models/my-audioldm2" → "my-audioldm2"), so no path of the machine is ever shown.
    """
    text = model_id.strip()
    if _HUB_ID.fullmatch(text):
        return text
    # Windows paths also split at "/", so this reads folders written either way.
    name = PureWindowsPath(text.rstrip("/\\")).name
    return name if name not in ("", ".", "..") else "local model"


@dataclass(frozen=True)
class EngineSettings:
    """How to load the model. ``None`` means: choose automatically."""

    model_id: str = DEFAULT_MODEL_ID
    device: str | None = None
    dtype: str | None = None
    offload: str = "auto"
    """"auto" (offload on CUDA GPUs under 12 GB), "on" or "off"."""
    prompt_cache_size: int = 64
    """How many prompt encodings to keep (0 disables the cache)."""
    compile: bool = False
    """``torch.compile`` the denoiser (UNet or DiT), compiled during ``warm_up``, not on a user's job."""
    compile_backend: str = "inductor"
    """The ``torch.compile`` backend; tests use "eager" to exercise the path without a C compiler."""
    test_hold_file: Path | None = None
    """Test-only, tiny models only: hold generations while this file names them (backends.pacing)."""
    test_step_delay_ms: int = 0
    """Test-only, tiny models only: milliseconds to wait after every denoising step."""
    test_fail_file: Path | None = None
    """Test-only, tiny models only: generations named in this file fail (backends.pacing)."""

    def __post_init__(self) -> None:
        if self.dtype is not None and self.dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {', '.join(DTYPES)}; got {self.dtype!r}")
        if self.offload not in OFFLOAD_MODES:
            raise ValueError(f"offload must be 'auto', 'on' or 'off'; got {self.offload!r}")
        if self.test_step_delay_ms < 0:
            raise ValueError(f"test_step_delay_ms must not be negative; got {self.test_step_delay_ms}")
