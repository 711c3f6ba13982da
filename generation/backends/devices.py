"""Where a pipeline runs: device and dtype choice, model CPU offload, out-of-memory detection."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import torch

from generation.errors import ModelUnavailable

if TYPE_CHECKING:
    from diffusers import DiffusionPipeline

    from generation.settings import EngineSettings

log = logging.getLogger(__name__)

#: GPUs with less memory than this get accelerate's model CPU offload when offload is "auto".
OFFLOAD_BELOW_BYTES = 12 * 1024**3

DTYPES = {"float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32}


def resolve_device(device: str | None) -> torch.device:
    """The requested device, or CUDA when present, else the CPU."""
    if device:
        resolved = torch.device(device)
        if resolved.type == "cuda" and not torch.cuda.is_available():
            raise ModelUnavailable(f"Device {device!r} was asked for, but no CUDA GPU is available.")
        return resolved
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def resolve_dtype(dtype: str | None, device: torch.device) -> torch.dtype:
    """float16 on CUDA, float32 elsewhere, unless overridden."""
    if dtype:
        return DTYPES[dtype]
    return torch.float16 if device.type == "cuda" else torch.float32


def wants_offload(settings: EngineSettings, device: torch.device) -> bool:
    """Whether to use model CPU offload: "on", or "auto" on a CUDA GPU under 12 GB."""
    return settings.offload == "on" or (
        settings.offload == "auto"
        and device.type == "cuda"
        and torch.cuda.get_device_properties(device).total_memory < OFFLOAD_BELOW_BYTES
    )


def place(pipe: DiffusionPipeline, settings: EngineSettings, device: torch.device) -> bool:
    """Move ``pipe`` to ``device`` (or offload it there); returns whether it is offloaded."""
    offload = wants_offload(settings, device) and device.type == "cuda"
    if offload:
        pipe.enable_model_cpu_offload(device=device)
    else:
        pipe.to(device)
    pipe.set_progress_bar_config(disable=True)
    return offload


def is_out_of_memory(exc: BaseException) -> bool:
    """True for CUDA OOM and for the CPU allocator's "can't allocate memory"."""
    if isinstance(exc, torch.cuda.OutOfMemoryError | MemoryError):
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and ("out of memory" in text or "can't allocate memory" in text)


def eval_mode(pipe: DiffusionPipeline) -> None:
    """Switch every module of a pipeline built in code to eval mode (as ``from_pretrained`` does):
    fresh modules train, with dropout on."""
    for component in pipe.components.values():
        if isinstance(component, torch.nn.Module):
            component.eval()
