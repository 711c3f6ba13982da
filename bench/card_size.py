"""What one job leaves in the channel: public messages, the result card's characters and fields.

Built by the bot's own code from a fixed job (a plain prompt, and a three-layer scene; a
snowflake-sized user id, a hub model id), so runs compare like for like across versions:

    python -m bench.card_size
"""

from __future__ import annotations

import dataclasses

from bot.storage import KIND_AMBIENT
from bot.ui.embeds import details_embed, result_embed
from bot.ui.job_texts import result_content
from generation.recipes.recipe import build_order
from tests.bot.jobs.test_visibility import job

USER_ID = 123456789012345678
MODEL = "cvssp/audioldm2"
#: Public messages a slash job leaves once delivered: the result (its status message became it).
MESSAGES_PER_JOB = 1


def measure(text: str, durations: list[float]) -> dict[str, int]:
    request, recipe = build_order(text, duration=10.0)
    made = dataclasses.replace(
        job(1, 1, 10), kind=KIND_AMBIENT, request=request, recipe=recipe, gen_seconds=4.2, user_id=USER_ID
    )
    card = result_embed(made, model=MODEL, durations=durations, image="spectrogram.png")
    details = details_embed(made, [123456789], model=MODEL, gen_seconds=4.2, durations=durations)
    return {
        "public messages": MESSAGES_PER_JOB,
        "content chars": len(result_content(made, mention=False) or ""),
        "embed chars": len(card),
        "fields": len(card.fields),
        "details chars (private)": len(details),
        "details fields (private)": len(details.fields),
    }


def main() -> None:
    for text in ("rain with crickets", "rain:0.8 + distant thunder:0.4 + crickets"):
        figures = " · ".join(f"{name} {value}" for name, value in measure(text, [10.0]).items())
        print(f"{text!r}: {figures}")


if __name__ == "__main__":
    main()
