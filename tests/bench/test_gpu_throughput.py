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
    argv = [
        "--model",
        "tiny",
        "--models",
        "audioldm2",
        "--device",
        "cpu",
        "--steps",
        "2",
        "--duration",
        "2.5",
    ]
    argv += [
        "--batches",
        "1,2",
        "--repeats",
        "1",
        "--no-compile",
        "--output",
        str(output),
        "--markdown",
        str(table),
    ]

    assert main(argv) == 0

    report = json.loads(output.read_text())
    settings, env = report["settings"], report["environment"]
    assert (settings["steps"], settings["duration"], settings["repeats"]) == (2, 2.5, 1)
    assert settings["dtype"] == "float32" and settings["batches"] == [1, 2]
    assert env["torch"] and env["diffusers"] and env["transformers"] and report["date"]
    assert report["models"]["audioldm2"]["latent_shape_per_clip"] == [1, 8, 63, 16]
    assert report["skipped"] == {
        "compile": "disabled (--no-compile, the default on the CPU)",
        "window": "audioldm2 has no fixed window",
    }

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
        assert row["model"] == "audioldm2"
        assert row["seconds_per_clip"] > 0 and row["clips_per_minute"] > 0
        # The denoiser's share and the rest add up to the measured time.
        assert row["denoiser_seconds_per_step"] > 0 and row["fixed_seconds_per_clip"] >= 0
        total = row["denoiser_seconds_per_step"] * row["steps"] * len(row["call_seconds"])
        total += row["fixed_seconds_per_clip"] * row["clips"]
        assert total == pytest.approx(sum(row["call_seconds"]), rel=1e-2)
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
    assert "| Model | Configuration |" in markdown and "naive pipeline" in markdown
    assert markdown in capsys.readouterr().out


# --- Stable Audio Open ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def full_sao() -> Any:
    from bench.full_size_sao import build_full_sao_pipeline

    return build_full_sao_pipeline("meta")


def test_full_size_sao_has_the_published_parameter_count(full_sao: Any) -> None:
    from bench.full_size_sao import check_parameter_count, parameter_counts

    counts = parameter_counts(full_sao)
    # The model card's "1.21B": the DiT and the VAE; t5-base's encoder comes on top.
    assert 1.18e9 <= counts["transformer"] + counts["vae"] <= 1.24e9
    assert 1.05e9 <= counts["transformer"] <= 1.07e9
    assert 1.5e8 <= counts["vae"] <= 1.6e8
    assert 1.05e8 <= counts["text_encoder"] <= 1.15e8
    assert check_parameter_count(full_sao) == counts["total"]
    assert next(full_sao.transformer.parameters()).device.type == "meta"


def test_full_size_sao_classes_and_audio_geometry(full_sao: Any) -> None:
    from diffusers import (
        AutoencoderOobleck,
        CosineDPMSolverMultistepScheduler,
        StableAudioDiTModel,
        StableAudioPipeline,
    )
    from transformers import T5EncoderModel

    from bench.full_size_sao import latent_shape

    assert isinstance(full_sao, StableAudioPipeline)
    assert isinstance(full_sao.transformer, StableAudioDiTModel)
    assert isinstance(full_sao.vae, AutoencoderOobleck) and isinstance(full_sao.text_encoder, T5EncoderModel)
    assert isinstance(full_sao.scheduler, CosineDPMSolverMultistepScheduler)
    assert full_sao.vae.hop_length == 2048 and full_sao.vae.config.sampling_rate == 44_100
    assert full_sao.vae.config.audio_channels == 2
    assert full_sao.transformer.config.sample_size * 2048 / 44_100 == pytest.approx(47.55, abs=0.01)
    assert latent_shape(full_sao, 10.0, batch_size=2) == (2, 64, 1024)  # the whole window, always
    assert len(full_sao.tokenizer) == 32_100 and full_sao.tokenizer.model_max_length == 128
    assert full_sao.text_encoder.config.vocab_size == 32_128


def test_sao_parameter_check_rejects_another_model() -> None:
    from bench.full_size_sao import check_parameter_count
    from generation.backends.stable_audio.tiny import build_tiny_sao_pipeline

    with pytest.raises(ValueError, match="expected"):
        check_parameter_count(build_tiny_sao_pipeline())


def test_smoke_run_measures_the_stable_audio_window(tmp_path: Path) -> None:
    from bench.gpu_throughput import main

    output = tmp_path / "results.json"
    argv = ["--model", "tiny", "--models", "stable-audio-open", "--device", "cpu", "--steps", "2"]
    argv += ["--duration", "10", "--repeats", "1", "--only", "baseline,window", "--output", str(output)]

    assert main(argv) == 0

    report = json.loads(output.read_text())
    assert report["models"]["stable-audio-open"]["latent_shape_per_clip"] == [1, 8, 1024]
    rows = report["rows"]
    assert [(r["section"], r["label"]) for r in rows] == [
        ("baseline", "naive pipeline, one prompt per call"),
        ("window", "naive pipeline, 47.55 s window"),
        ("window", "naive pipeline, 10.03 s window"),  # 216 latents of 2048 samples
    ]
    assert all(r["model"] == "stable-audio-open" and r["finite_output"] for r in rows)
    assert rows[0]["scheduler"] == "default (CosineDPMSolverMultistepScheduler)"


def test_flop_counts_on_the_meta_device(capsys: pytest.CaptureFixture[str]) -> None:
    from bench.flops import main, stable_audio_open

    full, fitted = stable_audio_open(1024), stable_audio_open(216)
    # The DiT over the whole 47.55 s window costs about as much as 4.7 fitted 10 s windows.
    assert 4.0 < full["denoiser_per_step"] / fitted["denoiser_per_step"] < 5.5
    assert 4.0 < full["decode_per_clip"] / fitted["decode_per_clip"] < 5.5
    assert main(["--duration", "10", "--steps", "50"]) == 0
    table = capsys.readouterr().out
    assert "| AudioLDM2 |" in table and "47.55 s window" in table and "10.03 s window" in table
