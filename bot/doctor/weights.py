"""Each configured model's weights: built in, a folder, in the local Hugging Face cache, or at least
reachable on the hub (and not gated for us), checked without downloading them."""

from __future__ import annotations

import os
from pathlib import Path

from bot.config import Config
from bot.doctor.report import Result, failed, passed
from generation.backends.hub import HF_TOKEN_ENV, model_page, model_unavailable, token_available
from generation.backends.registry import BUILTIN_MODEL_IDS, family_of

#: The file every diffusers checkpoint has; asking the hub for its headers proves access cheaply.
INDEX = "model_index.json"
HUB_TIMEOUT_S = 5.0
GIB = 1024**3


def weights(config: Config) -> list[Result]:
    """One line per configured model (the default first); the hub is asked at most until it fails."""
    results: list[Result] = []
    hub_down: str | None = None
    for model_id in config.model.ids:
        what = f"model {model_id}"
        if model_id in BUILTIN_MODEL_IDS:
            results.append(passed(what, "built in (random weights, sounds like noise; no download)"))
        elif Path(model_id).expanduser().exists():
            results.append(_folder(what, Path(model_id).expanduser()))
        elif (size := _cached_bytes(model_id)) is not None:
            results.append(passed(what, f"in the local Hugging Face cache ({size / GIB:.1f} GiB)"))
        elif hub_down is not None:
            results.append(failed(what, f"not in the local cache, and {hub_down}", _download_fix(model_id)))
        else:
            result, hub_down = _ask_hub(what, model_id)
            results.append(result)
    return results


def _folder(what: str, folder: Path) -> Result:
    if not (folder / INDEX).is_file():
        return failed(
            what,
            f"the folder {folder} has no {INDEX}",
            "give the folder of a diffusers checkpoint (converted)",
        )
    return passed(what, f"folder {folder} ({family_of(str(folder)).title})")


def _cached_bytes(model_id: str) -> int | None:
    """The size of the cached snapshot holding ``model_id``'s index and weights, or None."""
    from huggingface_hub import try_to_load_from_cache

    try:
        index = try_to_load_from_cache(model_id, INDEX)
    except ValueError:  # not a valid repository id
        return None
    if not isinstance(index, str):
        return None
    snapshot = Path(index).parent
    files = [p for p in snapshot.rglob("*") if p.is_file()]
    if not any(p.suffix in (".safetensors", ".bin") for p in files):
        return None  # an index without weights: an interrupted download
    return sum(p.stat().st_size for p in files)


def _ask_hub(what: str, model_id: str) -> tuple[Result, str | None]:
    """Whether the hub would serve the model now; and, when it is unreachable, why (for the rest)."""
    from huggingface_hub import get_hf_file_metadata, hf_hub_url
    from huggingface_hub.errors import GatedRepoError, HfHubHTTPError, OfflineModeIsEnabled

    family = family_of(model_id)
    try:
        # HF_ENDPOINT read now, not at huggingface_hub's import (a mirror, or a test's stand-in).
        url = hf_hub_url(model_id, INDEX, endpoint=os.environ.get("HF_ENDPOINT") or None)
        get_hf_file_metadata(url, timeout=HUB_TIMEOUT_S)
    except GatedRepoError as exc:
        return failed(
            what, "gated, and this token has no access", _gated_fix(model_id, exc, family.gated)
        ), None
    except OfflineModeIsEnabled:
        down = "HF_HUB_OFFLINE is set"
        return failed(what, f"not in the local cache, and {down}", _download_fix(model_id)), down
    except HfHubHTTPError as exc:
        status = exc.response.status_code if exc.response is not None else None
        if status in (401, 404) and family.gated and not token_available():
            return failed(
                what, "not found on the hub, or gated and no token given", _gated_fix(model_id, exc, True)
            ), None
        return failed(
            what, f"the hub answered {status or 'an error'}", _gated_fix(model_id, exc, family.gated)
        ), None
    except Exception as exc:
        down = f"the Hugging Face hub is unreachable ({type(exc).__name__})"
        return failed(what, f"not in the local cache, and {down}", _download_fix(model_id)), down
    return (
        passed(what, "not in the local cache; reachable on the hub: downloads at the first start (GBs)"),
        None,
    )


def _gated_fix(model_id: str, exc: BaseException, gated: bool) -> str:
    return str(model_unavailable(model_id, exc, gated=gated, offline_hint=""))


def _download_fix(model_id: str) -> str:
    return (
        f"run once where the hub is reachable (`hf download {model_id}`, with {HF_TOKEN_ENV} for a gated "
        f"model: {model_page(model_id)}), then copy the cache (HF_HOME), or give a local folder as the id"
    )
