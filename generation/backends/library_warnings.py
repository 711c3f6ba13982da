"""Narrow filters for warnings the model code paths raise on every load or generation.

All come from third-party code we cannot change and say nothing a user can act on; each filter
matches one message from one module, so any other warning still shows (pyproject.toml has the
same or broader filters for the test suite, which turns warnings into errors).

* diffusers builds the Oobleck and SAME autoencoders with ``torch.nn.utils.weight_norm``, which
  torch deprecates in favour of the parametrization API (a FutureWarning at construction).
* Stable Audio Open's scheduler asks torchsde's Brownian interval for noise exactly at its ends
  (σ = 0.3 and 500, and 0 for the last step); float rounding puts those a hair outside and
  torchsde warns each time. The noise there is what the scheduler expects.
* AudioLDM2's pipeline generates its GPT-2 conditioning with ``past_key_values``, which
  transformers 5 deprecates in favour of ``cache`` (a FutureWarning on every generation, printed
  once per process by the bot and the CLI).
"""

from __future__ import annotations

import warnings


def install() -> None:
    """Add the filters (idempotent: ``warnings`` drops duplicates)."""
    warnings.filterwarnings(
        "ignore",
        message=r"`torch\.nn\.utils\.weight_norm` is deprecated",
        category=FutureWarning,
        module=r"torch\.nn\.utils\.weight_norm",
    )
    warnings.filterwarnings(
        "ignore",
        message=r"Should have t[ab][<>]=t[01] but got",
        category=UserWarning,
        module=r"torchsde\._brownian",
    )
    warnings.filterwarnings(
        "ignore",
        message=r"`past_key_values` is deprecated",
        category=FutureWarning,
        module=r"transformers\.utils\.generic",
    )
