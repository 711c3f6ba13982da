"""``ambientgen studio``: a local web page (Gradio) to shape soundscapes, compare models and tune presets.

:mod:`~bot.studio.engine` is the one render path behind it (the bot's executors, local or GPU
workers), :func:`~bot.studio.ui.build_ui` builds the page from an engine, and
:mod:`~bot.studio.launch` serves it. Gradio is the optional extra ``ambientgen[studio]``.
"""
