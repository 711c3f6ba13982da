"""One cog per feature; each module ends in ``async def setup(bot)``."""

EXTENSIONS: tuple[str, ...] = (
    "bot.cogs.ambient",
    "bot.cogs.queue",
    "bot.cogs.presets",
    "bot.cogs.reroll",
    "bot.cogs.details",
    "bot.cogs.mix",
    "bot.cogs.status",
    "bot.cogs.history",
    "bot.cogs.gallery",
    "bot.cogs.retention",
    "bot.cogs.voice",
    "bot.cogs.compare",
)
