"""The **Create** tab: one soundscape from every ``/ambient`` option, with progress and **Stop**.

The result is a player (looping when the take loops), its spectrogram, the words sent to the
model and the MP3 with its tags; every take of the session stays listed to replay.
"""

from __future__ import annotations

import logging
from typing import Any

import gradio as gr

from bot.studio.context import PLAYER, Studio, progress_sink, user_message
from bot.studio.orders import create_order
from bot.studio.takes import Take, requests_of, store_take, words_sent
from generation.errors import Cancelled
from generation.request import QUALITIES

log = logging.getLogger(__name__)

LOOP_JS = """(loops) => {
  const player = document.querySelector('#create-audio audio');
  if (player) { player.loop = Boolean(loops); }
  return [];
}"""
TAKE_COLUMNS = ["#", "Prompt", "Seed", "Model", "Take"]


def take_rows(takes: list[Take]) -> list[list[Any]]:
    return [[t.number, t.request.user_text, t.request.seed, t.model, t.summary] for t in takes]


def take_choices(takes: list[Take]) -> list[tuple[str, int]]:
    return [(f"#{t.number}: {t.request.user_text[:40]} (seed {t.request.seed})", t.number) for t in takes]


def build_create_tab(studio: Studio) -> dict[str, gr.components.Component]:
    """The tab's widgets and events (inside an open ``gr.Tab``); returns widgets other tabs update."""
    engine = studio.engine
    with gr.Row():
        with gr.Column(scale=3):
            prompt = gr.Textbox(
                label="Prompt",
                placeholder="rain on a tin roof  ·  rain:0.8 + crickets:0.4  ·  waves@tiny-sao",
                lines=2,
                max_length=400,
            )
            with gr.Row():
                preset = gr.Dropdown(
                    studio.preset_choices(), value="", label="Preset", allow_custom_value=False
                )
                model = gr.Dropdown(list(engine.models), value=engine.models[0], label="Model")
                quality = gr.Dropdown(list(QUALITIES), value=QUALITIES[0], label="Quality")
            with gr.Row():
                duration = gr.Textbox(
                    label="Duration (s)", info="2.5–30; blank: the preset's", elem_id="create-duration"
                )
                length = gr.Textbox(label="Length (long render)", placeholder="e.g. 3m, 90s; blank: one clip")
                loop = gr.Checkbox(False, label="Loop")
            with gr.Row():
                seed = gr.Textbox(
                    label="Seed", info="blank: random; shows the seed used", elem_id="create-seed"
                )
                guidance = gr.Textbox(label="Guidance", info="1–15; blank: the preset's")
                steps = gr.Textbox(label="Steps", info="10–150; blank: the preset's", elem_id="create-steps")
                candidates = gr.Slider(1, 4, value=1, step=1, label="Candidates (best of N by CLAP)")
            with gr.Row():
                negative = gr.Textbox(label="Negative", placeholder="blank: the preset's negative prompt")
                raw = gr.Checkbox(False, label="Raw (send the words untouched)")
            with gr.Row():
                generate = gr.Button("Generate", variant="primary")
                stop = gr.Button("Stop", variant="stop")
        with gr.Column(scale=2):
            status = gr.Markdown("", elem_id="create-status")
            audio = gr.Audio(
                label="Result",
                type="filepath",
                interactive=False,
                waveform_options=PLAYER,
                elem_id="create-audio",
            )
            picture = gr.Image(label="Spectrogram", type="filepath", interactive=False, height=200)
            words = gr.Textbox(label="Words sent to the model", lines=3, interactive=False)
            download = gr.DownloadButton("Download MP3", visible=False, elem_id="create-download")
    with gr.Accordion("Takes of this session", open=True):
        takes_state = gr.State([])
        takes_table = gr.Dataframe(headers=TAKE_COLUMNS, value=[], interactive=False, wrap=True)
        with gr.Row():
            pick = gr.Dropdown([], label="Replay take", scale=1)
            replay = gr.Audio(
                label="Replay", type="filepath", interactive=False, waveform_options=PLAYER, scale=2
            )

    async def run(
        prompt_v: str, preset_v: str, model_v: str, quality_v: str, duration_v: Any, length_v: str,
        loop_v: bool, seed_v: Any, guidance_v: Any, steps_v: Any, candidates_v: Any, negative_v: str,
        raw_v: bool, takes: list[Take], request: gr.Request, progress: gr.Progress = gr.Progress(),  # noqa: B008
    ) -> tuple[Any, ...]:  # fmt: skip
        owner = request.session_hash or ""
        try:
            job = create_order(
                engine.catalog, prompt=prompt_v, preset=preset_v, model=model_v, duration=duration_v,
                length=length_v, loop=loop_v, seed=seed_v, guidance=guidance_v, steps=steps_v,
                quality=quality_v, negative=negative_v, raw=raw_v, candidates=candidates_v,
            )  # fmt: skip
        except ValueError as exc:  # RequestError is one
            raise gr.Error(user_message(exc), print_exception=False) from None
        sink, last = progress_sink(progress)
        try:
            rendered = await engine.render(job, owner=owner, progress=sink)
        except Cancelled:
            step = last()
            gr.Info(f"Stopped after step {step.step} of {step.total}." if step else "Stopped.")
            return (f"Stopped after step {step.step} of {step.total}." if step else "Stopped.",
                    *([gr.skip()] * 5), takes, gr.skip(), gr.skip())  # fmt: skip
        except Exception as exc:
            raise gr.Error(user_message(exc), print_exception=False) from None
        words_text = words_sent(requests_of(job.request, job.recipe))
        new: list[Take] = []
        for clip in [*rendered.posted, *rendered.spares]:
            new.append(await store_take(studio.files, studio.next_number(), clip, job.recipe, words_text,
                                        picture=not new))  # fmt: skip
        best = new[0]
        takes = [*takes, *new]
        log.info("studio: take #%d (%s) in %.1fs", best.number, best.summary, rendered.seconds)
        spares = f" ({len(new) - 1} more candidate(s) listed below)" if len(new) > 1 else ""
        return (
            f"Take #{best.number}: {best.summary}{spares}",
            gr.Audio(value=str(best.mp3), loop=best.loops),
            str(best.picture) if best.picture else None,
            best.words,
            gr.DownloadButton(value=str(best.mp3), visible=True),
            str(best.request.seed),
            takes,
            take_rows(takes),
            gr.Dropdown(choices=take_choices(takes), value=best.number),
        )

    inputs = [prompt, preset, model, quality, duration, length, loop, seed, guidance, steps, candidates,
              negative, raw, takes_state]  # fmt: skip
    outputs = [status, audio, picture, words, download, seed, takes_state, takes_table, pick]
    # Seed shown after: the box gets the seed used, so Generate again repeats the take; clear it
    # for a new one.
    for event in (
        generate.click(
            run, inputs, outputs, api_name="generate", concurrency_limit=1, concurrency_id="gpu",
            show_progress_on=[status, audio],
        ),
        prompt.submit(run, inputs, outputs, api_name=False, concurrency_limit=1, concurrency_id="gpu"),
    ):  # fmt: skip
        # The browser's own player has no loop setting in Gradio: set it on the element.
        event.success(None, [loop], None, js=LOOP_JS, api_name=False)
    stop.click(studio.stop_handler(), None, [status], api_name="stop", queue=False)

    def replay_take(number: int | None, takes: list[Take]) -> Any:
        take = next((t for t in takes if t.number == number), None)
        return gr.Audio(value=str(take.mp3), loop=take.loops) if take else None

    pick.change(replay_take, [pick, takes_state], [replay], api_name=False)
    return {"preset": preset}
