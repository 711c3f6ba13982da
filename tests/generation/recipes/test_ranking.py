"""Best-of-N: candidates ranked by the pipeline's CLAP model, deterministic, served best first."""

from __future__ import annotations

import numpy as np
import pytest

from generation.backends.audioldm2.engine import AudioEngine
from generation.errors import RequestError
from generation.prompting import build_request
from generation.recipes.ranking import (
    RankedCandidates,
    candidate_requests,
    check_candidates,
    clap_scores,
    rank_candidates,
)
from generation.request import MAX_SEED, GenerationRequest


def _req(**kw: object) -> GenerationRequest:
    params: dict[str, object] = {"seed": 30, "steps": 10, "duration": 3.0} | kw
    return build_request("rain on a tin roof", **params)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def ranked(tiny_engine: AudioEngine) -> RankedCandidates:
    return tiny_engine.generate_ranked(_req(), 4)


def test_order_is_descending_score_and_the_best_is_posted(ranked: RankedCandidates) -> None:
    scores = [c.score for c in ranked.candidates]
    assert scores == sorted(scores, reverse=True)
    assert [c.rank for c in ranked.candidates] == [0, 1, 2, 3]
    assert ranked.best is ranked.candidates[0]
    assert ranked.best.score == max(scores)
    assert sorted(c.request.seed for c in ranked.candidates) == [30, 31, 32, 33]
    assert ranked.text == _req().prompt
    assert all(-1.0 <= s <= 1.0 for s in scores)


def test_ranking_is_deterministic(tiny_engine: AudioEngine, ranked: RankedCandidates) -> None:
    again = tiny_engine.generate_ranked(_req(), 4)
    assert [(c.request.seed, c.score) for c in again.candidates] == [
        (c.request.seed, c.score) for c in ranked.candidates
    ]
    # Scoring a candidate alone gives the score it had in the batch.
    second = ranked.candidates[1]
    (alone,) = clap_scores(tiny_engine.pipe, ranked.text, [second.audio], tiny_engine.sample_rate)
    assert alone == pytest.approx(second.score, abs=1e-6)


def test_reroll_serves_the_next_best_from_cache_then_asks_for_a_new_seed(ranked: RankedCandidates) -> None:
    served = [ranked.next_after(n) for n in range(1, 5)]
    assert served[:3] == list(ranked.candidates[1:])  # instant, no GPU work
    assert served[3] is None  # all shown: the bot falls back to a new seed


def test_each_candidate_is_reproducible_from_its_own_request(
    tiny_engine: AudioEngine, ranked: RankedCandidates
) -> None:
    candidate = ranked.candidates[2]
    (alone,) = tiny_engine.generate([candidate.request])
    assert np.abs(alone - candidate.audio).max() < 1e-3


def test_long_clips_are_scored_over_several_windows(tiny_engine: AudioEngine) -> None:
    # The tiny CLAP takes 30240-sample windows (0.63 s at 48 kHz): 2 s is three windows and a
    # short tail, which is dropped; the score is the mean of the three.
    rate = tiny_engine.pipe.feature_extractor.sampling_rate  # already CLAP's rate: no resampling
    clip = (0.1 * np.random.default_rng(0).standard_normal(2 * rate)).astype(np.float32)
    (whole,) = clap_scores(tiny_engine.pipe, "rain", [clip], rate)
    windows = [clip[i : i + 30_240] for i in (0, 30_240, 60_480)]
    assert whole == pytest.approx(float(np.mean(clap_scores(tiny_engine.pipe, "rain", windows, rate))))


def test_ties_keep_generation_order() -> None:
    requests = candidate_requests(_req(seed=MAX_SEED), 3)
    assert [r.seed for r in requests] == [MAX_SEED, 0, 1]
    waves = [np.zeros(4, dtype=np.float32)] * 3
    ranked = rank_candidates(requests, waves, [0.1, 0.3, 0.1], "rain")
    assert [c.request.seed for c in ranked.candidates] == [0, MAX_SEED, 1]
    with pytest.raises(ValueError, match="equally long"):
        rank_candidates(requests, waves, [0.1], "rain")


@pytest.mark.parametrize(
    ("value", "message"), [(0, "you asked for 0"), (5, "you asked for 5"), (2.5, "whole")]
)
def test_candidate_count_is_checked(value: object, message: str) -> None:
    with pytest.raises(RequestError, match=message):
        check_candidates(value)
    assert check_candidates(1) == 1 and check_candidates(4) == 4


def test_stereo_at_44_1_khz_is_scored_as_its_mono_downmix(tiny_engine: AudioEngine) -> None:
    rate = 44_100
    rng = np.random.default_rng(8)
    left = rng.standard_normal(3 * rate) * 0.1
    stereo = np.stack([left, np.roll(left, 500) * 0.5], axis=1)
    (as_stereo,) = clap_scores(tiny_engine.pipe, "rain", [stereo], rate)
    (as_mono,) = clap_scores(tiny_engine.pipe, "rain", [stereo.mean(axis=1)], rate)
    assert as_stereo == pytest.approx(as_mono, abs=1e-6)


def test_stable_audio_candidates_are_ranked_by_a_clap_beside_the_model(tiny_sao_engine) -> None:  # type: ignore[no-untyped-def]
    from generation.backends.clap import ClapComponents

    ranked = tiny_sao_engine.generate_ranked(_req(seed=60), 2)
    assert isinstance(tiny_sao_engine.clap(), ClapComponents)
    assert [c.rank for c in ranked.candidates] == [0, 1]
    assert all(c.audio.shape == (3 * 44_100, 2) for c in ranked.candidates)
    assert ranked.best.score >= ranked.candidates[1].score
