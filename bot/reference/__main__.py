"""``python -m bot.reference``: write the generated documentation pages (see :mod:`bot.reference.pages`)."""

from bot.reference.pages import main

raise SystemExit(main())
