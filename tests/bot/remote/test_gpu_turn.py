"""A worker's GPU turn: one batch at a time takes the GPU, and a batch that never starts lets go."""

from __future__ import annotations

import asyncio

from bot.remote.gpu import GpuTurn


async def test_the_next_batch_waits_until_the_gpu_part_of_the_last_is_over() -> None:
    turn = GpuTurn()
    await asyncio.wait_for(turn.wait_free(), 1)
    turn.claim("1")
    turn.started("1")
    waiting = asyncio.ensure_future(turn.wait_free())
    await asyncio.sleep(0.05)
    assert not waiting.done() and turn.busy
    turn.release("2")  # another batch's release changes nothing
    await asyncio.sleep(0.05)
    assert not waiting.done()
    turn.release("1")
    await asyncio.wait_for(waiting, 1)
    assert not turn.busy


async def test_a_batch_taken_but_never_started_frees_the_gpu_after_a_while() -> None:
    turn = GpuTurn(claim_timeout_s=0.2)
    turn.claim("7")
    await asyncio.wait_for(turn.wait_free(), 3)  # not started: given up after the timeout
    assert not turn.busy
    turn.claim("8")
    turn.started("8")
    waiting = asyncio.ensure_future(turn.wait_free())
    await asyncio.sleep(1.3)  # well past the timeout: a started batch keeps the GPU
    assert not waiting.done()
    turn.release("8")
    await asyncio.wait_for(waiting, 1)
