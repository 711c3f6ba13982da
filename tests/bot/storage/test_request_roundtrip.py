"""Property: any valid GenerationRequest survives request_json unchanged."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.storage.database import Database
from bot.storage.generations import GenerationStore
from bot.storage.job_rows import decode_request, encode_request
from bot.storage.jobs import JobStore
from generation.request import (
    MAX_DURATION_S,
    MAX_GUIDANCE,
    MAX_NEGATIVE_CHARS,
    MAX_PROMPT_CHARS,
    MAX_SEED,
    MAX_STEPS,
    MIN_DURATION_S,
    MIN_GUIDANCE,
    MIN_STEPS,
    SCHEDULERS,
    GenerationRequest,
)
from tests.bot.storage.conftest import new_job

requests = st.builds(
    GenerationRequest,
    user_text=st.text(min_size=1, max_size=MAX_PROMPT_CHARS),
    prompt=st.text(min_size=1, max_size=MAX_PROMPT_CHARS),
    negative_prompt=st.text(max_size=MAX_NEGATIVE_CHARS),
    preset=st.none() | st.text(alphabet="abcdefghijklmnopqrstuvwxyz_-", min_size=1, max_size=24),
    raw=st.booleans(),
    duration_s=st.floats(MIN_DURATION_S, MAX_DURATION_S, allow_nan=False),
    steps=st.integers(MIN_STEPS, MAX_STEPS),
    guidance=st.floats(MIN_GUIDANCE, MAX_GUIDANCE, allow_nan=False),
    seed=st.integers(0, MAX_SEED),
    scheduler=st.sampled_from(SCHEDULERS),
)


@given(request=requests)
def test_request_json_round_trip(request: GenerationRequest) -> None:
    assert decode_request(encode_request(request)) == request


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(request=requests)
async def test_request_round_trip_through_the_database(
    db: Database, db_path: Path, request: GenerationRequest
) -> None:
    # The db fixture is shared by all examples; each example writes its own rows.
    jobs = JobStore(db)
    job = await new_job(jobs, request=request)
    loaded = await jobs.get(job.id)
    assert loaded is not None and loaded.request == request
    generation = await GenerationStore(db).add(
        job,
        0,
        request,
        model="m",
        mp3_path="mp3/x.mp3",
        mp3_sha256="0",
        mp3_bytes=1,
        lufs=-1.0,
        gen_seconds=1.0,
    )
    assert generation.request == request
    assert (generation.prompt, generation.user_text, generation.guidance) == (
        request.prompt,
        request.user_text,
        request.guidance,
    )
