"""``[model]``: which models are loaded, and how (the default one, and those of ``also``)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from pydantic import model_validator
from pydantic_core import PydanticCustomError

from bot.config.checks import (
    Check,
    Section,
    boolean,
    brief,
    fail,
    integer,
    invalid,
    nonblank_text,
    one_of,
    optional_path,
    setting,
    true_or_false,
)
from bot.config.messages import show
from generation.models import ModelCatalog
from generation.settings import (
    DEFAULT_MODEL_ID,
    DTYPES,
    OFFLOAD_MODES,
    TINY_MODEL_IDS,
    EngineSettings,
    model_display_name,
)

DEVICE_RE = re.compile(r"(cpu|mps|cuda(:\d+)?)")


def device_name(value: Any) -> str | None:
    expected = '"auto", "cpu", "cuda", "cuda:N" (a GPU index) or "mps"'
    if value is None:
        return None
    if not isinstance(value, str) or not (
        value.strip().lower() == "auto" or DEVICE_RE.fullmatch(value.strip().lower())
    ):
        raise fail(expected, value)
    device = value.strip().lower()
    return None if device == "auto" else device


def model_id_value(value: Any) -> str:
    return nonblank_text(value, '"tiny", a Hugging Face model id or the path of a model folder')


#: The keys of one ``[model] also`` entry besides its ``id``, and their checks.
_ENTRY_CHECKS: dict[str, Check] = {
    "device": device_name,
    "dtype": one_of(DTYPES, auto_is_none=True),
    "offload": one_of(OFFLOAD_MODES),
    "compile": true_or_false,
}


def _entry_value(where: str, name: str, check: Check, value: Any) -> Any:
    """``check(value)`` for key ``name`` of an entry, its refusal naming the entry and the key."""
    try:
        return check(value)
    except PydanticCustomError as exc:
        raise invalid(f"{where} {name} {exc.context['text'] if exc.context else exc}") from None


@dataclass(frozen=True)
class ModelEntry:
    """One more model of ``[model] also``: its id, and the keys it sets itself (the others are
    ``[model]``'s)."""

    id: str
    overrides: tuple[tuple[str, Any], ...] = ()
    """(key, normalised value) for each of device, dtype, offload and compile it sets."""

    def __str__(self) -> str:
        own = ",".join(f"{key}={brief(value)}" for key, value in self.overrides)
        return f"{self.id}({own})" if own else self.id


def _model_entries(value: Any) -> tuple[ModelEntry, ...]:
    expected = 'a list of tables such as [{ id = "tiny-sao", dtype = "float32" }]'
    if isinstance(value, tuple) and all(isinstance(v, ModelEntry) for v in value):
        return value
    if not isinstance(value, list | tuple):
        raise fail(expected, value)
    entries: list[ModelEntry] = []
    for position, item in enumerate(value, start=1):
        where = f"entry {position}"
        if isinstance(item, ModelEntry):
            entries.append(item)
            continue
        if not isinstance(item, Mapping):
            raise invalid(f'{where} must be a table with an id, e.g. {{ id = "tiny-sao" }}; got {show(item)}')
        unknown = sorted(set(item) - {"id", *_ENTRY_CHECKS})
        if unknown:
            allowed = ", ".join(["id", *_ENTRY_CHECKS])
            raise invalid(
                f"{where} has an unknown key {unknown[0]} (an entry may set {allowed}); "
                f"got a table with {', '.join(sorted(map(str, item)))}"
            )
        if "id" not in item:
            raise invalid(f'{where} needs an id, e.g. {{ id = "tiny-sao" }}; got a table without one')
        model_id = _entry_value(where, "id", model_id_value, item["id"])
        overrides = tuple(
            (name, _entry_value(where, name, check, item[name]))
            for name, check in _ENTRY_CHECKS.items()
            if name in item
        )
        entries.append(ModelEntry(model_id, overrides))
    return tuple(entries)


class ModelConfig(Section):
    """``[model]``: which model is loaded and how."""

    SECTION: ClassVar[str] = "model"

    id: str = setting(DEFAULT_MODEL_ID, model_id_value)
    """"tiny" (built-in test model), a Hugging Face model id, or a local checkpoint folder."""
    device: str | None = setting(None, device_name)
    """"cpu", "cuda", "cuda:N", "mps"; None: CUDA when present, else the CPU."""
    dtype: str | None = setting(None, one_of(DTYPES, auto_is_none=True))
    """One of DTYPES; None: float16 on CUDA, float32 elsewhere."""
    offload: str = setting("auto", one_of(OFFLOAD_MODES))
    """Model CPU offload: "auto" (CUDA GPUs under 12 GB), "on" or "off"."""
    prompt_cache_size: int = setting(64, integer(0, 10_000))
    """Prompt encodings kept in memory (0 disables the cache)."""
    compile: bool = setting(False, boolean)
    """``torch.compile`` the UNet, compiled during the warm-up at start."""
    also: tuple[ModelEntry, ...] = setting((), _model_entries)
    """More models loaded beside ``id`` (which stays the default), each with its own keys."""
    test_hold_file: Path | None = setting(None, optional_path)
    """Test-only (tiny model): generations wait after each step while this file names them."""
    test_step_delay_ms: int = setting(0, integer(0, 10_000))
    """Test-only (tiny model): milliseconds every denoising step waits."""
    test_fail_file: Path | None = setting(None, optional_path)
    """Test-only (tiny model): generations whose prompt this file names fail after one step."""

    @model_validator(mode="after")
    def _models_fit(self) -> ModelConfig:
        names = {model_display_name(self.id).casefold(): "[model] id"}
        for position, entry in enumerate(self.also, start=1):
            name = model_display_name(entry.id)
            earlier = names.setdefault(name.casefold(), f"[model] also entry {position}")
            if earlier != f"[model] also entry {position}":
                raise invalid(
                    f"[model] also entry {position} loads a model {earlier} loads already (each is loaded "
                    f"once, and chosen by its name); got {show(entry.id)}, named {show(name)} again",
                    whole=True,
                )
        testing = (
            self.test_hold_file is not None or self.test_step_delay_ms > 0 or self.test_fail_file is not None
        )
        real = [model_id for model_id in self.ids if model_id not in TINY_MODEL_IDS]
        if testing and real:
            raise invalid(
                "[model] test_hold_file, test_step_delay_ms and test_fail_file are for tests and work "
                f"only with built-in tiny models ({', '.join(TINY_MODEL_IDS)}); remove them for the "
                f"model {show(real[0])}",
                whole=True,
            )
        return self

    @property
    def ids(self) -> tuple[str, ...]:
        """Every model to load, the default (``id``) first."""
        return (self.id, *(entry.id for entry in self.also))

    def catalog(self) -> ModelCatalog:
        """The models users may choose, by name, the default first."""
        return ModelCatalog.from_ids(self.ids)

    def engine_settings(self, entry: ModelEntry | None = None) -> EngineSettings:
        """The engine's view of this section: the default model, or ``entry`` of ``also``."""
        own = dict(entry.overrides) if entry is not None else {}
        return EngineSettings(
            model_id=entry.id if entry is not None else self.id,
            device=own.get("device", self.device),
            dtype=own.get("dtype", self.dtype),
            offload=own.get("offload", self.offload),
            prompt_cache_size=self.prompt_cache_size,
            compile=own.get("compile", self.compile),
            test_hold_file=self.test_hold_file,
            test_step_delay_ms=self.test_step_delay_ms,
            test_fail_file=self.test_fail_file,
        )

    def all_engine_settings(self) -> tuple[EngineSettings, ...]:
        """How to load every model, the default first."""
        return (self.engine_settings(), *(self.engine_settings(entry) for entry in self.also))
