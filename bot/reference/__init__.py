"""The bot describing itself: the generated documentation pages (the command reference from the
app-command tree, the configuration reference from the config models, the bot's own texts), written
into a checkout's ``docs/`` by ``python -m bot.reference`` (``--check`` only reports stale pages)."""
