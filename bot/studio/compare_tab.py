"""The **Compare** tab: the same words, seed and length on two models, as takes A and B.

The rules of ``/compare``: the two models in random order, both takes brought to one format
and loudness (the render path's comparison), and the names hidden until **Reveal**.
"""

from __future__ import annotations

import logging
from typing import Any

import gradio as gr

from bot.studio.context import PLAYER, Studio, progress_sink, user_message
from bot.studio.orders import compare_order
from generation.errors import Cancelled
from generation.recipes.compare import SIDES
from generation.request import QUALITIES

log = logging.getLogger(__name__)


def build_compare_tab(studio: Studio) -> dict[str, gr.components.Component]:
    """The tab's widgets and events (inside an open ``gr.Tab``)."""
    engine = studio.engine
    models = list(engine.models)
    with gr.Row():
        words = gr.Textbox(
            label="Words to compare", placeholder="rain on a tin roof", scale=3, max_length=300
        )
        model_a = gr.Dropdown(models, value=models[0], label="First model")
        model_b = gr.Dropdown(models, value=models[1] if len(models) > 1 else models[0], label="Second model")
    with gr.Row():
        preset = gr.Dropdown(studio.preset_choices(), value="", label="Preset")
        duration = gr.Textbox(label="Duration (s)", info="blank: the preset's")
        seed = gr.Textbox(label="Seed", info="blank: random")
        quality = gr.Dropdown(list(QUALITIES), value=QUALITIES[0], label="Quality")
    with gr.Row():
        go = gr.Button("Render A and B", variant="primary")
        reveal = gr.Button("Reveal")
    status = gr.Markdown("")
    with gr.Row():
        take_a = gr.Audio(label="Take A", type="filepath", interactive=False, waveform_options=PLAYER)
        take_b = gr.Audio(label="Take B", type="filepath", interactive=False, waveform_options=PLAYER)
    names = gr.State(None)

    async def run(
        words_v: str, a: str, b: str, preset_v: str, duration_v: Any, seed_v: Any, quality_v: str,
        request: gr.Request, progress: gr.Progress = gr.Progress(),  # noqa: B008
    ) -> tuple[Any, ...]:  # fmt: skip
        try:
            job = compare_order(engine.catalog, prompt=words_v, model_a=a, model_b=b, preset=preset_v,
                                duration=duration_v, seed=seed_v, quality=quality_v)  # fmt: skip
        except ValueError as exc:
            raise gr.Error(user_message(exc), print_exception=False) from None
        sink, _ = progress_sink(progress)
        try:
            rendered = await engine.render(job, owner=request.session_hash or "", progress=sink)
        except Cancelled:
            return "Stopped.", None, None, None
        except Exception as exc:
            raise gr.Error(user_message(exc), print_exception=False) from None
        paths = [
            studio.files.write(f"take-{side}.mp3", clip.mp3)
            for side, clip in zip(SIDES, rendered.posted, strict=True)
        ]
        hidden = {side: clip.model for side, clip in zip(SIDES, rendered.posted, strict=True)}
        seed_used = job.recipe.compare[0].seed
        length = rendered.posted[0].duration_s
        text = f"Seed {seed_used} · {length:.1f} s each · which do you prefer? Then **Reveal**."
        return text, str(paths[0]), str(paths[1]), hidden

    def show(hidden: dict[str, str] | None) -> str:
        if not hidden:
            return "Render a comparison first."
        return " · ".join(f"**Take {side}**: {model}" for side, model in hidden.items())

    go.click(run, [words, model_a, model_b, preset, duration, seed, quality], [status, take_a, take_b, names],
             api_name="compare", concurrency_limit=1, concurrency_id="gpu")  # fmt: skip
    reveal.click(show, [names], [status], api_name="reveal")
    return {"preset": preset}
