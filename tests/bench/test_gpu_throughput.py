"""The throughput benchmark: the full-size build's architecture (on the meta device, no memory) and a
smoke run of the whole benchmark on the tiny model.

Checks shapes, classes and the report's structure; never timings.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from diffusers import AudioLDM2Pipeline

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def full_pipe() -> AudioLDM2Pipeline:
    from bench.full_size import build_full_pipeline

    return build_full_pipeline("meta")


def test_full_size_has_the_published_parameter_count(full_pipe: AudioLDM2Pipeline) -> None:
    from bench.full_size import check_parameter_count, parameter_counts

    counts = parameter_counts(full_pipe)
    assert 1.05e9 <= counts["total"] <= 1.2e9  # "1.1B" in the model card
    assert check_parameter_count(full_pipe) == counts["total"]
    # The model card's "UNet 350M"; FLAN-T5-large's encoder, GPT-2 base, CLAP (HTSAT + RoBERTa-base).
    assert 3.3e8 <= counts["unet"] <= 3.6e8
    assert 3.3e8 <= counts["text_encoder_2"] <= 3.5e8
    assert 1.2e8 <= counts["language_model"] <= 1.3e8
    assert 1.8e8 <= counts["text_encoder"] <= 2.1e8
    assert next(full_pipe.unet.parameters()).device.type == "meta"


def test_full_size_uses_the_production_classes(full_pipe: AudioLDM2Pipeline) -> None:
    from diffusers import (
        AudioLDM2ProjectionModel,
        AudioLDM2UNet2DConditionModel,
        AutoencoderKL,
        DDIMScheduler,
    )
    from transformers import (
        ClapFeatureExtractor,
        ClapModel,
        GPT2LMHeadModel,
        RobertaTokenizer,
        RobertaTokenizerFast,
        SpeechT5HifiGan,
        T5EncoderModel,
        T5Tokenizer,
        T5TokenizerFast,
    )

    expected: dict[str, Any] = {
        "unet": AudioLDM2UNet2DConditionModel,
        "vae": AutoencoderKL,
        "vocoder": SpeechT5HifiGan,
        "text_encoder": ClapModel,
        "text_encoder_2": T5EncoderModel,
        "language_model": GPT2LMHeadModel,
        "projection_model": AudioLDM2ProjectionModel,
        "scheduler": DDIMScheduler,
        "feature_extractor": ClapFeatureExtractor,
        "tokenizer": (RobertaTokenizer, RobertaTokenizerFast),
        "tokenizer_2": (T5Tokenizer, T5TokenizerFast),
    }
    for name, cls in expected.items():
        assert isinstance(full_pipe.components[name], cls), name
    assert full_pipe.language_model.config.max_new_tokens == 8
    assert len(full_pipe.tokenizer) == 50_265
    assert len(full_pipe.tokenizer_2) == 32_100
    assert full_pipe.text_encoder_2.config.vocab_size == 32_128
    assert full_pipe.unet.config.block_out_channels == (128, 256, 384, 640)


def test_full_size_audio_geometry(full_pipe: AudioLDM2Pipeline) -> None:
    from bench.full_size import latent_shape

    assert full_pipe.unet.config.in_channels == 8
    assert full_pipe.vae.config.latent_channels == 8
    assert full_pipe.vae_scale_factor == 4
    vocoder = full_pipe.vocoder.config
    assert vocoder.model_in_dim == 64
    assert vocoder.sampling_rate == 16_000
    assert math.prod(vocoder.upsample_rates) == 160  # hop: 100 mel frames per second
    assert latent_shape(full_pipe, 10.0, batch_size=4) == (4, 8, 250, 16)


def test_in_memory_tokenizers_give_realistic_token_counts(full_pipe: AudioLDM2Pipeline) -> None:
    from generation.prompting import build_request

    request = build_request("gentle rain on a tin roof", seed=1)
    words = len(request.prompt.split())
    for tokenizer in (full_pipe.tokenizer, full_pipe.tokenizer_2):
        count = len(tokenizer(request.prompt).input_ids)
        assert words <= count <= 2 * words, (type(tokenizer).__name__, count, words)
        assert tokenizer("🌧️ über").input_ids  # unknown text still encodes
    assert full_pipe.tokenizer.model_max_length == 512  # the pipeline pads CLAP input to this
    assert full_pipe.tokenizer_2.model_max_length == 128


def test_parameter_check_rejects_another_model() -> None:
    from bench.full_size import check_parameter_count
    from generation.backends.audioldm2.tiny import build_tiny_pipeline

    with pytest.raises(ValueError, match="expected"):
        check_parameter_count(build_tiny_pipeline())


def test_help_answers_without_loading_a_model() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bench.gpu_throughput", "--help"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    for option in ("--duration", "--steps", "--batches", "--repeats", "--only", "--no-compile", "--markdown"):
        assert option in result.stdout


def test_unknown_section_is_a_usage_error() -> None:
    from bench.gpu_throughput import parse_settings

    with pytest.raises(SystemExit):
        parse_settings(["--only", "baseline,warp"])


def test_smoke_run_reports_every_configuration(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from bench.gpu_throughput import main

    output, table = tmp_path / "results.json", tmp_path / "results.md"
    argv = ["--model", "tiny", "--device", "cpu", "--steps", "2", "--duration", "2.5", "--batches", "1,2"]
    argv += ["--repeats", "1", "--no-compile", "--output", str(output), "--markdown", str(table)]

    assert main(argv) == 0

    report = json.loads(output.read_text())
    settings, env = report["settings"], report["environment"]
    assert (settings["steps"], settings["duration"], settings["repeats"]) == (2, 2.5, 1)
    assert settings["dtype"] == "float32" and settings["batches"] == [1, 2]
    assert env["torch"] and env["diffusers"] and env["transformers"] and report["date"]
    assert report["model"]["latent_shape_per_clip"] == [1, 8, 63, 16]
    assert report["skipped"] == {"compile": "disabled (--no-compile, the default on the CPU)"}

    rows = report["rows"]
    assert [(r["section"], r["batch_size"]) for r in rows] == [
        ("baseline", 1),
        ("batch", 1),
        ("batch", 2),
        ("cache", 1),
        ("cache", 2),
        ("fast", 1),
        ("fast", 2),
    ]
    for row in rows:
        assert row["seconds_per_clip"] > 0 and row["clips_per_minute"] > 0
        assert row["call_seconds"] and all(s > 0 for s in row["call_seconds"])
        assert row["peak_rss_mib"] > 0 and row["peak_gpu_mib"] is None
        assert row["section"] == "baseline" or row["vs_baseline"] > 0
    baseline, *engine_rows = rows
    assert baseline["clips"] == 2 and baseline["vs_baseline"] is None  # one call per clip
    for row in engine_rows:
        assert row["clips"] == row["batch_size"]  # one timed call of the whole batch
    for row in rows[1:3]:  # cache off: every timed request encodes its prompts again
        assert row["cache_hits"] == 0 and row["cache_misses"] > 0
    for row in rows[3:]:  # warm cache: rerolls never encode
        assert row["cache_misses"] == 0 and row["cache_hits"] > 0
    assert all(r["scheduler"].startswith("dpm++") for r in rows[5:])
    assert all(r["steps"] == 2 for r in rows)

    markdown = table.read_text()
    assert "| Configuration |" in markdown and "naive pipeline" in markdown
    assert markdown in capsys.readouterr().out
