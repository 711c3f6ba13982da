"""The **Prompt lab** tab: render a grid of variants, compare them in one sortable table with a
player per take, its CLAP text–audio score and artifact measures, and **Save as preset**."""

from __future__ import annotations

import html
import logging
import math
import random
from typing import Any

import gradio as gr

from bot.studio.context import Studio, progress_sink, user_message
from bot.studio.lab import MAX_SEEDS, OFF, ON, lab_words, plan_grid, preset_from_take, row_job
from bot.studio.orders import number, whole
from bot.studio.takes import Take, store_take, words_sent
from generation.errors import Cancelled, RequestError
from generation.recipes.order import Progress
from generation.request import MAX_SEED

log = logging.getLogger(__name__)

#: Columns of the table: (label, key of a row) — the sort choices too.
COLUMNS = (
    ("#", "number"),
    ("Variant", "variant"),
    ("Seed", "seed"),
    ("CLAP", "clap"),
    ("LUFS", "lufs"),
    ("Peak dBFS", "peak"),
    ("Clipped %", "clipped"),
    ("Flatness", "flatness"),
    ("Flattest", "flattest"),
)
_DESCENDING = {"clap", "lufs", "peak", "clipped", "flatness", "flattest"}


def _number(value: float | None, digits: int) -> str:
    return "—" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def take_row(take: Take, variant: str, url: str) -> dict[str, Any]:
    art = take.artifacts
    return {
        "number": take.number,
        "variant": variant,
        "seed": take.request.seed,
        "clap": take.score,
        "lufs": art.lufs if art else None,
        "peak": art.peak_dbfs if art else None,
        "clipped": art.clipped_pct if art else None,
        "flatness": art.flatness_mean if art else None,
        "flattest": art.flatness_max if art else None,
        "curve": art.sparkline if art else "",
        "url": url,
        "words": take.words,
    }


def sort_rows(rows: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    """Rows by ``key``: scores and measures highest first, blanks last; # and seed ascending."""
    descending = key in _DESCENDING

    def order(row: dict[str, Any]) -> tuple[bool, Any]:
        value = row.get(key)
        missing = value is None or (isinstance(value, float) and math.isnan(value))
        if missing:
            return (True, 0)
        return (False, -value if descending and isinstance(value, int | float) else value)

    return sorted(rows, key=order)


def table_html(rows: list[dict[str, Any]]) -> str:
    """One table, a player per take (plain HTML: no script, every text escaped)."""
    if not rows:
        return "<p>No grid rendered yet.</p>"
    head = (
        "".join(f"<th>{html.escape(label)}</th>" for label, _ in COLUMNS)
        + "<th>Flatness over time</th><th>Take</th>"
    )
    body = []
    for row in rows:
        cells = [
            str(row["number"]), html.escape(row["variant"]), str(row["seed"]), _number(row["clap"], 3),
            _number(row["lufs"], 1), _number(row["peak"], 1), _number(row["clipped"], 2),
            _number(row["flatness"], 3), _number(row["flattest"], 3),
        ]  # fmt: skip
        tds = "".join(f"<td>{c}</td>" for c in cells)
        tds += f'<td style="font-family:monospace">{html.escape(row["curve"])}</td>'
        tds += f'<td><audio controls preload="none" src="{html.escape(row["url"])}"></audio></td>'
        body.append(f'<tr title="{html.escape(row["words"])}">{tds}</tr>')
    return f'<table class="lab-grid"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def build_lab_tab(studio: Studio, file_url: Any) -> dict[str, gr.components.Component]:
    """The tab's widgets and events (inside an open ``gr.Tab``); ``file_url(path)`` is where the
    page fetches a file."""
    engine = studio.engine
    with gr.Row():
        words = gr.Textbox(
            label="Words", placeholder="blank: the category's example", scale=3, max_length=300
        )
        category = gr.Dropdown(studio.preset_choices(), value="", label="Category")
        model = gr.Dropdown(list(engine.models), value=engine.models[0], label="Model")
    with gr.Row():
        quality = gr.CheckboxGroup([ON, OFF], value=[ON], label="Quality phrases", elem_id="lab-quality")
        negative = gr.CheckboxGroup([ON, OFF], value=[ON], label="Negative prompt")
        guidance = gr.Textbox(label="Guidance values", placeholder="e.g. 3, 6; blank: the preset's")
        steps = gr.Textbox(label="Step values", placeholder="e.g. 25, 50; blank: the preset's")
    with gr.Row():
        seeds = gr.Slider(1, MAX_SEEDS, value=2, step=1, label="Seeds per variant")
        seed = gr.Textbox(label="First seed", info="blank: random")
        duration = gr.Textbox(label="Duration (s)", info="blank: the preset's", elem_id="lab-duration")
        render = gr.Button("Render grid", variant="primary")
    status = gr.Markdown("")
    sort = gr.Dropdown([(label, key) for label, key in COLUMNS], value="number", label="Sort by")
    table = gr.HTML(table_html([]), elem_id="lab-table")
    rows_state = gr.State([])
    takes_state = gr.State([])
    with gr.Accordion("Grid data", open=False):
        data = gr.JSON(label="Rows")
    with gr.Row():
        chosen = gr.Dropdown([], label="Take to save", scale=1)
        name = gr.Textbox(label="Preset name", placeholder="e.g. soft rain", scale=2)
        save = gr.Button("Save as preset", scale=1)
    saved = gr.Markdown("")

    async def run(
        words_v: str, category_v: str, model_v: str, quality_v: list[str], negative_v: list[str],
        guidance_v: str, steps_v: str, seeds_v: Any, seed_v: Any, duration_v: Any, sort_v: str,
        request: gr.Request, progress: gr.Progress = gr.Progress(),  # noqa: B008
    ) -> tuple[Any, ...]:  # fmt: skip
        try:
            text, preset = lab_words(words_v, category_v)
            variants, count = plan_grid(quality=quality_v, negative=negative_v, guidance=guidance_v,
                                        steps=steps_v, seeds=seeds_v)  # fmt: skip
            typed = whole("First seed", seed_v)
            first = random.SystemRandom().randint(0, MAX_SEED) if typed is None else typed
            dur = number("Duration", duration_v)
            jobs = [row_job(engine.catalog, v, words=text, preset=preset, model=model_v, duration=dur,
                            seed=first, seeds=count) for v in variants]  # fmt: skip
        except (ValueError, RequestError) as exc:
            raise gr.Error(user_message(exc), print_exception=False) from None
        total = sum(job.request.steps * count for job in jobs)
        done = 0
        sink, _ = progress_sink(progress)
        rows: list[dict[str, Any]] = []
        takes: list[Take] = []
        try:
            for variant, job in zip(variants, jobs, strict=True):
                offset = done

                def shifted(update: Progress, offset: int = offset) -> None:
                    sink(
                        Progress(
                            offset + update.step * count, total, f"grid {len(rows) // count + 1}/{len(jobs)}"
                        )
                    )

                rendered = await engine.render(job, owner=request.session_hash or "", progress=shifted)
                done += job.request.steps * count
                stored = [
                    await store_take(
                        studio.files,
                        studio.next_number(),
                        clip,
                        job.recipe,
                        words_sent([clip.request]),
                        picture=False,
                    )
                    for clip in rendered.posted
                ]
                scores = await _scores(studio, text, stored, model_v)
                for take, score in zip(stored, scores, strict=True):
                    take = _scored(take, score)
                    takes.append(take)
                    rows.append(take_row(take, variant.label(), file_url(take.mp3)))
        except Cancelled:
            return "Stopped.", table_html(sort_rows(rows, sort_v)), rows, takes, rows, gr.skip()
        except Exception as exc:
            raise gr.Error(user_message(exc), print_exception=False) from None
        scored = "" if engine.local else " (CLAP scores need the models in this process)"
        text_v = f"Rendered {len(rows)} takes of “{text}”{scored}."
        choices = [(f"#{r['number']}: {r['variant']}, seed {r['seed']}", r["number"]) for r in rows]
        return (text_v, table_html(sort_rows(rows, sort_v)), rows, takes, rows,
                gr.Dropdown(choices=choices, value=rows[0]["number"] if rows else None))  # fmt: skip

    def resort(rows: list[dict[str, Any]], key: str) -> str:
        return table_html(sort_rows(rows, key))

    def save_preset(number: Any, name_v: str, takes: list[Take]) -> tuple[Any, ...]:
        from generation.preset_file import PresetFileError, read_preset_file, save_preset
        from generation.preset_matching import get_preset, install_extra_presets

        take = next((t for t in takes if t.number == number), None)
        if take is None:
            raise gr.Error("Render a grid and pick the take to save first.", print_exception=False)
        try:
            preset = preset_from_take(name_v or "", take.request, engine.catalog)
            try:
                existing = get_preset(preset.key)
            except RequestError:
                existing = None
            if existing is not None and existing.keywords:
                raise RequestError(f"'{preset.key}' is a built-in preset's name; choose another name.")
            install_extra_presets(
                [*(p for p in read_preset_file(studio.presets_file) if p.key != preset.key), preset]
            )
            save_preset(studio.presets_file, preset)
        except (RequestError, PresetFileError) as exc:
            raise gr.Error(str(exc), print_exception=False) from None
        log.info("studio: saved preset %s to %s", preset.key, studio.presets_file)
        message = (f"Saved preset **{preset.label}** (`{preset.key}`) to `{studio.presets_file}`: the bot "
                   "offers it in `/ambient preset:` after its next start.")  # fmt: skip
        return message, gr.Dropdown(choices=studio.preset_choices())

    render.click(
        run, [words, category, model, quality, negative, guidance, steps, seeds, seed, duration, sort],
        [status, table, rows_state, takes_state, data, chosen], api_name="lab", concurrency_limit=1,
        concurrency_id="gpu",
    )  # fmt: skip
    sort.change(resort, [rows_state, sort], [table], api_name=False)
    save.click(save_preset, [chosen, name, takes_state], [saved, category], api_name="save_preset")
    return {"category": category}


async def _scores(studio: Studio, text: str, takes: list[Take], model: str | None) -> list[float | None]:
    """CLAP scores of the takes against the words (None each where the models run elsewhere)."""
    from generation.audio.mp3 import decode_mp3

    waveforms = [decode_mp3(take.mp3.read_bytes())[0] for take in takes]
    scores = await studio.engine.clap_scores(text, waveforms, model or None)
    return list(scores) if scores is not None else [None] * len(takes)


def _scored(take: Take, score: float | None) -> Take:
    import dataclasses

    return dataclasses.replace(take, score=score)
