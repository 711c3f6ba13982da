"""What a blind comparison shows: the post with takes A and B, its vote count, the reveal, the
answers to votes, and a server's tally (``/compare stats``).

Before the reveal nothing here names a model, nor anything that differs per model (the expanded
prompt, steps, guidance, negative prompt, generation time): the words, the seed, the length and
the number of votes are the same for both takes. Built from stored data only.
"""

from __future__ import annotations

from collections.abc import Sequence

import discord

from bot.storage import CompareState, Job, PresetTally, Vote
from bot.ui.embeds import EMBED_COLOUR, JOB_MARKER, preset_label
from bot.ui.text import FIELD_VALUE_MAX, PROMPT_IN_CONTENT, TITLE_MAX, clip, fit_embed, shown
from generation.naming import slugify
from generation.presets import PRESETS
from generation.prompting import format_number
from generation.request import GenerationRequest

WINNER = "🏆"
VOTING_CLOSED = "Voting is closed: the models of this comparison are revealed."
NO_COMPARISONS = "No comparison has been revealed in this server yet: try `/compare models`."


def take_filename(request: GenerationRequest, side: str) -> str:
    """A take's attachment name: the words, the seed and the take ("rain-1234-A.mp3"), no model."""
    return f"{slugify(request.user_text)}-{request.seed}-{side}.mp3"


def compare_content(job: Job, *, mention: bool) -> str:
    """The line above a comparison; ``mention`` (a channel post) pings its author, and only them."""
    text = (
        f"🎧 Blind test: **{shown(job.request.user_text, PROMPT_IN_CONTENT)}** — two models, "
        "takes A and B. Which one sounds better?"
    )
    return f"<@{job.user_id}> {text}" if mention else text


def _votes(count: int) -> str:
    return f"{count} vote" if count == 1 else f"{count} votes"


def _reveal_rule(reveal_after: int) -> str:
    if reveal_after > 0:
        return f"revealed after {_votes(reveal_after)}, or earlier by its author"
    return "revealed by its author"


def compare_embed(job: Job, state: CompareState | None, *, reveal_after: int) -> discord.Embed:
    """The comparison's card: blind until ``state`` is revealed, then the models and the votes."""
    request = job.request
    embed = discord.Embed(title=shown(request.user_text, TITLE_MAX), colour=EMBED_COLOUR)
    embed.add_field(name="Preset", value=preset_label(request))
    embed.add_field(name="Seed", value=str(request.seed))
    embed.add_field(name="Duration", value=f"{format_number(request.duration_s)} s")
    if state is None or not state.revealed:
        embed.description = (
            "Two models made these takes from the same words, seed and length, at the same loudness "
            "and in the same format. Listen to both and vote; which model made which stays hidden "
            f"until the reveal ({_reveal_rule(reveal_after)})."
        )
        total = state.total if state is not None else 0
        embed.add_field(name="Votes", value=_votes(total) if total else "none yet")
        embed.set_footer(text=f"{JOB_MARKER.format(job_id=job.id)} · blind comparison · vote A or B")
        return fit_embed(embed)
    embed.description = "Revealed: here is which model made which take."
    for index, side in enumerate(("A", "B")):
        crown = f" {WINNER}" if state.winner == side else ""
        embed.add_field(
            name=f"Take {side}",
            value=clip(
                f"{shown(state.models[index], 200)} — {_votes(state.votes[index])}{crown}", FIELD_VALUE_MAX
            ),
        )
    embed.add_field(name="Result", value=clip(result_line(state), FIELD_VALUE_MAX), inline=False)
    embed.set_footer(text=f"{JOB_MARKER.format(job_id=job.id)} · blind comparison · revealed")
    return fit_embed(embed)


def result_line(state: CompareState) -> str:
    """E.g. "Take A wins: tiny-sao, 3 votes to 1", or a tie."""
    a, b = state.votes
    if state.winner in ("A", "B"):
        index = 0 if state.winner == "A" else 1
        won, lost = (a, b) if index == 0 else (b, a)
        return f"Take {state.winner} wins: {shown(state.models[index], 200)}, {won} to {lost}."
    if state.total == 0:
        return "Nobody voted: no winner."
    return f"A tie, {a} to {b}."


def vote_answer(vote: Vote) -> str:
    """The private answer to a vote."""
    if vote.previous == vote.side:
        text = f"You had already voted for take {vote.side}."
    elif vote.previous is None:
        text = f"🗳️ Your vote for take {vote.side} is in; you can change it until the reveal."
    else:
        text = f"🗳️ You changed your vote from take {vote.previous} to take {vote.side}."
    if vote.revealed_now:
        text += " That vote completed the count: the models are revealed."
    return text


def reveal_refusal(reveal_after: int) -> str:
    """Why someone other than the author may not reveal early."""
    if reveal_after > 0:
        return (
            "Only the person who asked for this comparison can reveal it early; it reveals itself "
            f"after {_votes(reveal_after)}."
        )
    return "Only the person who asked for this comparison can reveal it."


def stats_embed(place: str, tallies: Sequence[PresetTally]) -> discord.Embed:
    """``/compare stats``: how often each model won this server's revealed comparisons, by preset.

    ``place`` is the server's name (escaped here).
    """
    embed = discord.Embed(title=f"Blind comparisons in {shown(place, 100)}", colour=EMBED_COLOUR)
    if not tallies:
        embed.description = NO_COMPARISONS
        return embed
    embed.description = "Wins of each model in revealed comparisons (a tie is no win), by preset."
    for tally in tallies[:25]:
        embed.add_field(name=clip(_preset_name(tally.preset), 256), value=_tally_lines(tally), inline=False)
    return fit_embed(embed)


def _preset_name(preset: str | None) -> str:
    if preset == "*":
        return "All presets"
    if preset is None:
        return "No preset"
    return PRESETS[preset].label if preset in PRESETS else preset


def _tally_lines(tally: PresetTally) -> str:
    lines = [
        f"**{shown(t.model, 100)}** — won {t.wins} of {t.comparisons}"
        + (f" ({t.ties} tied)" if t.ties else "")
        for t in tally.ranked()
    ]
    head = f"{tally.comparisons} comparison" + ("" if tally.comparisons == 1 else "s")
    return clip("\n".join([head, *lines]), FIELD_VALUE_MAX)
