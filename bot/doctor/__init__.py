"""``ambientgen doctor``: checks a machine before the first start, one module per check.

In order: Python and torch (:mod:`.versions`), the config, CUDA and GPU memory (:mod:`.gpu`),
each model's weights (:mod:`.weights`), the data folder and database (:mod:`.database`), voice
(:mod:`.voice`), Redis and its workers (:mod:`.workers`), the Discord token and invite
(:mod:`.discord_api`). Each prints one line, ✓ or ✗ with the fix; no secret is ever printed
(:mod:`.report`).
"""

from bot.doctor.checkup import run_doctor

__all__ = ["run_doctor"]
