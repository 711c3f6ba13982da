"""Admission: what a job costs, and the limits that refuse it (pure; the transaction is tested in storage)."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest

from bot.jobs.admission import UNITS_PER_CLIP, JobSizes, Limits, admission, check_limits, job_size, too_big
from bot.storage import Usage
from generation.models import ModelCatalog
from generation.prompting import build_request
from generation.recipes.recipe import Recipe, build_order
from generation.request import GenerationRequest

LIMITS = {"max_pending_per_user": 3, "max_queue": 100, "cooldown_s": 10.0}
COSTS = Limits(
    max_pending_per_user=3,
    max_queue=100,
    cooldown_s=0.0,
    max_job_cost=70,
    max_user_cost=100,
    remixes_per_hour=2,
)


def usage(**changes: float) -> Usage:
    values = {"user_pending": 0, "user_pending_cost": 0.0, "total_pending": 0, "seconds_since_last": None,
              "remixes_last_hour": 0, **changes}  # fmt: skip
    return Usage(**values)  # type: ignore[arg-type]


def test_a_default_clip_costs_one_and_size_follows_steps_length_and_takes() -> None:
    clip = build_request("rain", duration=10, steps=50, seed=1)
    assert job_size(clip, build_order("rain", duration=10, seed=1)[1]).cost == 1.0
    assert job_size(clip, build_order("rain", duration=10, seed=1)[1], variations=3).cost == 3.0
    _, fast_loop = build_order("rain", length="10m", loop=True, quality="fast", seed=1)
    _, standard_loop = build_order("rain", length="10m", loop=True, seed=1)
    request, _ = build_order("rain", length="10m", loop=True, seed=1)
    assert 60 < job_size(request, standard_loop).cost < 70  # about 65 clips, not "one job"
    fast_request, _ = build_order("rain", length="10m", loop=True, quality="fast", seed=1)
    assert job_size(fast_request, fast_loop).cost == pytest.approx(job_size(request, standard_loop).cost / 2)
    scene_request, scene = build_order("rain:0.8 + crickets:0.4 + wind", duration=4, seed=1)
    assert job_size(scene_request, scene).cost == pytest.approx(3 * 4 * scene.layer_requests[0].steps / 500)


def test_the_largest_single_job_is_refused_before_anything_else() -> None:
    assert too_big(70, COSTS) is None
    message = too_big(71, COSTS)
    assert message is not None and "71 clips" in message and "70 clips" in message
    assert admission(COSTS, 71)(usage()) == message


def test_the_users_pending_cost_is_capped() -> None:
    check = admission(COSTS, 40)
    assert check(usage(user_pending=1, user_pending_cost=60)) is None
    refusal = check(usage(user_pending=1, user_pending_cost=61))
    assert refusal is not None and "over your 100 clips" in refusal


def test_remixes_per_hour_and_served_candidates_skip_the_queue_limits() -> None:
    assert admission(COSTS, 0, remix=True)(usage(remixes_last_hour=1)) is None
    refusal = admission(COSTS, 0, remix=True)(usage(remixes_last_hour=2))
    assert refusal is not None and "changed levels 2 times" in refusal
    full = usage(user_pending=3, total_pending=100)
    assert admission(COSTS, 0, queue_limits=False)(full) is None
    assert admission(COSTS, 1)(full) is not None


def test_accepted_when_under_every_limit() -> None:
    assert check_limits(user_pending=2, total_pending=99, seconds_since_last=10.0, **LIMITS) is None
    assert check_limits(user_pending=0, total_pending=0, seconds_since_last=None, **LIMITS) is None


def test_user_limit_message() -> None:
    assert check_limits(user_pending=3, total_pending=5, seconds_since_last=None, **LIMITS) == (
        "You already have 3 soundscapes in the queue (the limit is 3). Wait for one to finish or /cancel one."
    )


def test_user_limit_message_singular() -> None:
    limits = {**LIMITS, "max_pending_per_user": 1}
    assert check_limits(user_pending=1, total_pending=1, seconds_since_last=None, **limits) == (
        "You already have 1 soundscape in the queue (the limit is 1). Wait for one to finish or /cancel one."
    )


def test_queue_full_message() -> None:
    assert check_limits(user_pending=0, total_pending=100, seconds_since_last=None, **LIMITS) == (
        "The queue is full (100 jobs). Please try again in a few minutes."
    )


def test_cooldown_message_rounds_seconds_up() -> None:
    message = check_limits(user_pending=0, total_pending=0, seconds_since_last=3.2, **LIMITS)
    assert message == "Slow down a little: you can queue again in 7 s."
    exact = check_limits(user_pending=0, total_pending=0, seconds_since_last=3.0, **LIMITS)
    assert exact == "Slow down a little: you can queue again in 7 s."
    tiny = check_limits(user_pending=0, total_pending=0, seconds_since_last=9.9999, **LIMITS)
    assert tiny == "Slow down a little: you can queue again in 1 s."


def test_cooldown_over_and_disabled() -> None:
    assert check_limits(user_pending=0, total_pending=0, seconds_since_last=10.0, **LIMITS) is None
    no_cooldown = {**LIMITS, "cooldown_s": 0.0}
    assert check_limits(user_pending=0, total_pending=0, seconds_since_last=0.0, **no_cooldown) is None


def test_cooldown_with_clock_going_backwards_waits_at_most_the_cooldown() -> None:
    message = check_limits(user_pending=0, total_pending=0, seconds_since_last=-50.0, **LIMITS)
    assert message == "Slow down a little: you can queue again in 10 s."


def test_user_limit_wins_over_full_queue_and_full_queue_over_cooldown() -> None:
    both = check_limits(user_pending=3, total_pending=100, seconds_since_last=1.0, **LIMITS)
    assert both is not None and both.startswith("You already have 3")
    full = check_limits(user_pending=0, total_pending=100, seconds_since_last=1.0, **LIMITS)
    assert full is not None and full.startswith("The queue is full")


def test_a_comparison_costs_its_two_takes_and_models_never_share_a_batch() -> None:
    from generation.models import ModelCatalog
    from generation.recipes.compare_order import build_compare

    catalog = ModelCatalog.from_ids(["tiny", "tiny-sao"])
    request, recipe = build_compare("rain", catalog, seed=3, duration=10.0)
    assert job_size(request, recipe, 2).waveforms == 2  # takes A and B are the job's two variations
    plain, _ = build_order("rain", seed=3, duration=10.0, model="tiny", catalog=catalog)
    other = plain.with_model("tiny-sao")
    assert plain.batch_key() != other.batch_key()
    assert plain.batch_key() == plain.with_seed(4).batch_key()


# --- cost by what each model computes -------------------------------------------------------------

MODELS = ModelCatalog.from_ids(["tiny", "tiny-sao", "tiny-sa3"])
SIZES = JobSizes(MODELS)
#: Stable Audio Open's window: 1024 latents of 2048 samples at 44.1 kHz.
SAO_WINDOW_S = 1024 * 2048 / 44_100


def clip_on(model: str, duration: float, quality: str | None = None) -> tuple[GenerationRequest, Recipe]:
    return build_order("rain", duration=duration, seed=1, model=model, catalog=MODELS, quality=quality)


def test_a_short_stable_audio_open_clip_costs_its_whole_window() -> None:
    short, long = clip_on("tiny-sao", 2.5), clip_on("tiny-sao", 30.0)
    steps = short[0].steps
    assert SIZES.size(*short).cost == pytest.approx(steps * SAO_WINDOW_S / UNITS_PER_CLIP)
    assert SIZES.size(*short).cost == SIZES.size(*long).cost
    # 19x what its asked length alone would say.
    assert SIZES.size(*short).cost / job_size(*short).cost == pytest.approx(SAO_WINDOW_S / 2.5)


def test_audioldm2_and_stable_audio_3_cost_grows_with_length() -> None:
    assert SIZES.size(*clip_on("tiny", 10.0)).cost == pytest.approx(1.0)  # the unit: 10 s, 50 steps
    for model in ("tiny", "tiny-sa3"):
        costs = [SIZES.size(*clip_on(model, d)).cost for d in (2.5, 10.0, 30.0)]
        assert costs[0] < costs[1] < costs[2], (model, costs)
        assert costs[2] / costs[1] == pytest.approx(3.0, rel=0.01)  # whole latent frames only


def test_variations_layers_long_renders_and_comparisons_count_what_each_model_computes() -> None:
    request, recipe = clip_on("tiny-sao", 2.5)
    assert SIZES.size(request, recipe, 3).cost == pytest.approx(3 * SIZES.size(request, recipe).cost)
    loop_request, loop = build_order("rain", length="2m", loop=True, seed=1, model="tiny-sao", catalog=MODELS)
    per_segment = loop_request.steps * SAO_WINDOW_S / UNITS_PER_CLIP
    assert SIZES.size(loop_request, loop).cost == pytest.approx(
        SIZES.size(loop_request, loop).waveforms * per_segment
    )
    scene_request, scene = build_order("rain@tiny-sao + crickets@tiny", duration=4, seed=1, catalog=MODELS)
    sao_layer, tiny_layer = scene.layer_requests
    expected = (sao_layer.steps * SAO_WINDOW_S + tiny_layer.steps * 4.0) / UNITS_PER_CLIP
    assert SIZES.size(scene_request, scene).cost == pytest.approx(expected)


def test_admission_counts_a_short_sao_clip_at_its_full_window() -> None:
    short_sao, full_sao = clip_on("tiny-sao", 2.5), clip_on("tiny-sao", 30.0)
    cost = SIZES.size(*short_sao).cost
    assert cost == SIZES.size(*full_sao).cost > 9  # 100 steps over 47.55 s: over 9 clips
    # A user with 91 clips of work waiting has room for a short AudioLDM2 clip, not a short SAO one.
    busy = usage(user_pending=1, user_pending_cost=91)
    assert admission(COSTS, SIZES.size(*clip_on("tiny", 2.5)).cost)(busy) is None
    refusal = admission(COSTS, cost)(busy)
    assert refusal is not None and "over your 100 clips" in refusal
    small_jobs = dataclasses.replace(COSTS, max_job_cost=5)
    assert admission(small_jobs, cost)(usage()) == too_big(cost, small_jobs)
    assert too_big(job_size(*short_sao).cost, small_jobs) is None  # what the old rule let through


def test_the_cost_rule_needs_no_model_loaded() -> None:
    """A bot whose GPUs are Redis workers prices jobs without torch."""
    code = (
        "import sys; from bot.jobs.admission import JobSizes; from generation.models import ModelCatalog; "
        "from generation.recipes.recipe import build_order; "
        "c = ModelCatalog.from_ids(['tiny-sao']); "
        "print(JobSizes(c).size(*build_order('rain', duration=2.5, seed=1, catalog=c)).seconds, "
        "'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    seconds, torch_loaded = out.split()
    assert float(seconds) == pytest.approx(SAO_WINDOW_S) and torch_loaded == "False"
