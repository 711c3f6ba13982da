"""Throughput of the full-size models: the library's naive usage vs the AmbientGen backends.

Measures, in one run, for each model (``--models``: AudioLDM2 and Stable Audio Open by default,
one pipeline object each, built and measured one after the other), seconds per clip and clips
per minute for:

- ``baseline``: the pipeline called with prompt strings, one request at a time, with the
  checkpoint's scheduler (the library's documented usage);
- ``batch``: the engine, batches of different prompts, prompt cache off;
- ``cache``: the engine with a warm prompt cache (rerolls of known prompts);
- ``fast``: the engine's "fast" quality (DPM-Solver++, half the steps), warm cache;
- ``compile``: the engine after ``torch.compile`` of the denoiser (compile time reported apart),
  with the standard and, when ``fast`` is selected, the fast scheduler;
- ``window`` (Stable Audio Open only): the naive call at the pipeline's fixed 47.55 s window
  against the same call with the window fitted to the clip (what a shorter window would save).

Each configuration gets one untimed warm-up call, then ``--repeats`` timed calls bracketed by
``torch.cuda.synchronize()``. Peak GPU memory is reset per configuration (on the CPU, the peak
resident set size instead). The JSON/markdown files are rewritten after every configuration, so
a run cut short keeps what it measured. Run from the repository root on the GPU machine (the
default run is sized for about 8 minutes on one H100; ``--only`` splits it)::

    python -m bench.gpu_throughput --output results.json --markdown results.md

Heavy imports (torch, diffusers) are deferred so that ``--help`` answers at once.
"""

from bench.gpu_throughput.measure import Row
from bench.gpu_throughput.report import markdown_report
from bench.gpu_throughput.run import main, run
from bench.gpu_throughput.settings import DEFAULT_MODELS, SECTIONS, Settings, build_parser, parse_settings

__all__ = [
    "DEFAULT_MODELS",
    "SECTIONS",
    "Row",
    "Settings",
    "build_parser",
    "main",
    "markdown_report",
    "parse_settings",
    "run",
]
