"""Python's and torch's versions: what the bot and diffusers need."""

from __future__ import annotations

import importlib.metadata
import sys

from bot.doctor.report import Result, failed, passed

MIN_PYTHON = (3, 11)
MIN_TORCH = (2, 4)


def python_version() -> Result:
    version = ".".join(map(str, sys.version_info[:3]))
    if sys.version_info[:2] < MIN_PYTHON:
        wanted = ".".join(map(str, MIN_PYTHON))
        return failed("Python", version, f"install Python {wanted} or newer and reinstall ambientgen in it")
    return passed("Python", f"{version} ({sys.executable})")


def torch_version() -> Result:
    try:
        version = importlib.metadata.version("torch")
    except importlib.metadata.PackageNotFoundError:
        return failed(
            "torch", "not installed", "pip install torch (the CUDA build on a GPU machine, see pytorch.org)"
        )
    release = tuple(int(part) for part in version.split("+")[0].split(".")[:2] if part.isdigit())
    if release < MIN_TORCH:
        return failed("torch", version, "pip install 'torch>=2.4' (the CUDA build on a GPU machine)")
    build = (
        "CPU-only build" if "+cpu" in version else "build " + version.split("+")[1] if "+" in version else ""
    )
    return passed("torch", f"{version}{f' ({build})' if build else ''}")
