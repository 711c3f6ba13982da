"""Device, dtype and offload choice; out-of-memory detection."""

from __future__ import annotations

import pytest
import torch

from generation.backends.devices import is_out_of_memory, resolve_device, resolve_dtype, wants_offload
from generation.errors import ModelUnavailable
from generation.settings import EngineSettings


def test_device_and_dtype_defaults_and_overrides() -> None:
    cpu = resolve_device("cpu")
    assert cpu.type == "cpu" and resolve_dtype(None, cpu) == torch.float32
    assert resolve_dtype("bfloat16", cpu) == torch.bfloat16
    assert resolve_dtype(None, torch.device("cuda")) == torch.float16
    if not torch.cuda.is_available():
        assert resolve_device(None).type == "cpu"
        with pytest.raises(ModelUnavailable, match="no CUDA GPU"):
            resolve_device("cuda:1")


def test_offload_is_asked_for_or_automatic_on_small_gpus_only() -> None:
    cpu = torch.device("cpu")
    assert wants_offload(EngineSettings(offload="on"), cpu)
    assert not wants_offload(EngineSettings(offload="auto"), cpu)  # automatic only on CUDA
    assert not wants_offload(EngineSettings(offload="off"), cpu)


def test_out_of_memory_detection() -> None:
    assert is_out_of_memory(torch.cuda.OutOfMemoryError("x"))
    assert is_out_of_memory(MemoryError())
    assert is_out_of_memory(RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried"))
    assert not is_out_of_memory(RuntimeError("shape mismatch"))
