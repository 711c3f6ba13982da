"""Texts about jobs waiting for a GPU worker with their models."""

from __future__ import annotations

from bot.ui.job_texts import models_phrase, waiting_for_model_text, waiting_for_models_summary


def test_a_job_waiting_for_its_models_worker_says_which_models() -> None:
    assert waiting_for_model_text(2, 5, ("tiny-sao",)) == (
        "Queued — position 2 of 5, waiting for a GPU worker with model tiny-sao"
    )
    assert models_phrase(("a", "b", "c")) == "models a, b and c"
    # Names come from the config, yet are shown as plain text and kept short.
    phrase = models_phrase(("my_*model*", "x" * 500))
    assert "\\*model\\*" in phrase and len(phrase) < 200


def test_status_counts_the_waiting_jobs_per_set_of_models() -> None:
    summary = waiting_for_models_summary([(("tiny-sao",), 1), (("tiny", "tiny-sao"), 3)])
    assert summary == (
        "1 job needs a GPU worker with model tiny-sao\n3 jobs need a GPU worker with models tiny and tiny-sao"
    )
