"""CUDA, the GPU's memory, and the model CPU offload that memory implies (the engine's own rule)."""

from __future__ import annotations

from bot.config import Config
from bot.doctor.report import Result, failed, passed
from generation.backends.registry import BUILTIN_MODEL_IDS

GIB = 1024**3


def gpu(config: Config) -> Result:
    import torch

    from generation.backends.devices import OFFLOAD_BELOW_BYTES, wants_offload

    everything = config.model.all_engine_settings()
    real = [s for s in everything if s.model_id not in BUILTIN_MODEL_IDS and s.device != "cpu"]
    if not torch.cuda.is_available():
        if not real:
            return passed(
                "GPU", 'no CUDA GPU; every configured model runs on the CPU (built-in or device = "cpu")'
            )
        why = (
            "torch is a CPU-only build"
            if torch.version.cuda is None
            else f"torch (CUDA {torch.version.cuda}) finds no GPU: driver, or CUDA_VISIBLE_DEVICES?"
        )
        return failed(
            "GPU",
            f"no CUDA GPU ({why}); {real[0].model_id} would take minutes per clip on the CPU",
            "run on a machine with an NVIDIA GPU and torch's CUDA build (pytorch.org), "
            'or set [model] device = "cpu" to accept the CPU',
        )
    parts: list[str] = []
    for settings in everything:
        device = torch.device(settings.device or "cuda")
        if device.type != "cuda":
            continue
        index = device.index if device.index is not None else torch.cuda.current_device()
        if index >= torch.cuda.device_count():
            return failed(
                "GPU",
                f"{settings.model_id} asks for cuda:{index}; there are {torch.cuda.device_count()} GPU(s)",
                "set [model] device (or the entry's device in also) to an existing GPU",
            )
        props = torch.cuda.get_device_properties(index)
        free, total = torch.cuda.mem_get_info(index)
        offload = wants_offload(settings, torch.device("cuda", index))
        parts.append(
            f"{settings.model_id} on cuda:{index} {props.name} ({total / GIB:.1f} GiB, "
            f"{free / GIB:.1f} free; offload {'on' if offload else 'off'})"
        )
    if not parts:
        return passed("GPU", "CUDA is present; no configured model uses it")
    note = f"; under {OFFLOAD_BELOW_BYTES / GIB:.0f} GiB models are offloaded to the CPU in parts (slower)"
    return passed("GPU", "; ".join(parts) + note)
