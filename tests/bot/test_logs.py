"""Log lines never carry a credential: discord.py's own debug log, captured, is redacted."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import json
import logging
import sys
import warnings
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import pytest

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "'audioop' is deprecated", DeprecationWarning)
    import discord
from discord.ext import commands

from bot import logs
from bot.logs import (
    FORMAT,
    REDACTED,
    JobFilter,
    RedactingFormatter,
    add_secret,
    configure_logging,
    formatter,
    job_context,
    redact,
    use_format,
)
from tests.standin import DiscordStandIn, discord_py_pointed_at

BOT_TOKEN = "MTA5ODc2NTQzMjEwOTg3NjU0.GhIjKl.bot-token-for-the-log-test"


@pytest.fixture(autouse=True)
def forget_secrets() -> Iterator[None]:
    saved = set(logs._secrets)
    yield
    logs._secrets.clear()
    logs._secrets.update(saved)


def test_tokens_in_urls_payloads_and_the_bot_token_are_redacted() -> None:
    add_secret(BOT_TOKEN)
    lines = {
        "POST https://discord.com/api/v10/interactions/123/aW50ZXJhY3Rpb24_a-b.c/callback": (
            "/interactions/123/<redacted>/callback"
        ),
        "PATCH https://discord.com/api/v10/webhooks/55/aW50ZXJ/messages/@original?wait=1": (
            "/webhooks/55/<redacted>/messages/@original?wait=1"
        ),
        "{'t': 'INTERACTION_CREATE', 'd': {'token': 'aW50', 'id': '9'}}": "'token': '<redacted>', 'id'",
        '{"op": 0, "d": {"token": "voice-secret", "endpoint": "x"}}': '{"token": "<redacted>", "endpoint"',
        f"Authorization: Bot {BOT_TOKEN}": "Authorization: Bot <redacted>",
        "executing INSERT with (1, 'aW50ZXJhY3Rpb246MTU3Njg6dXhT-_x', 2.5)": "(1, '<redacted>', 2.5)",
    }
    for line, expected in lines.items():
        assert expected in redact(line), line
    assert redact("job 12 generated in 3.1 s") == "job 12 generated in 3.1 s"


def test_the_formatter_redacts_arguments_and_tracebacks() -> None:
    add_secret(BOT_TOKEN)
    formatter = RedactingFormatter(FORMAT)
    try:
        raise RuntimeError(f"GET /webhooks/1/secret-token/messages failed with {BOT_TOKEN}")
    except RuntimeError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "token %s", (BOT_TOKEN,), sys.exc_info())
    JobFilter().filter(record)  # as on the bot's handler: every line names its job
    text = formatter.format(record)
    assert BOT_TOKEN not in text and "secret-token" not in text
    assert "msg=token <redacted>" in text and text.endswith(
        f"/webhooks/1/{REDACTED}/messages failed with {REDACTED}"
    )


@contextmanager
def captured_debug_log() -> Iterator[tuple[io.StringIO, io.StringIO]]:
    """Everything logged at DEBUG, once as the bot's handler writes it and once unredacted."""
    redacted, raw = io.StringIO(), io.StringIO()
    handlers = [logging.StreamHandler(redacted), logging.StreamHandler(raw)]
    handlers[0].setFormatter(RedactingFormatter("%(name)s %(message)s"))
    handlers[1].setFormatter(logging.Formatter("%(name)s %(message)s"))
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.DEBUG)
    for handler in handlers:
        root.addHandler(handler)
    try:
        yield redacted, raw
    finally:
        for handler in handlers:
            root.removeHandler(handler)
        root.setLevel(level)


@asynccontextmanager
async def running(standin: DiscordStandIn, bot: commands.Bot) -> AsyncIterator[None]:
    ready = asyncio.Event()

    async def on_ready() -> None:
        ready.set()

    bot.add_listener(on_ready, "on_ready")
    with discord_py_pointed_at(standin.api_base_url, standin.gateway_url):
        task = asyncio.create_task(bot.start(standin.token))
        try:
            await asyncio.wait_for(ready.wait(), 10)
            yield
        finally:
            await bot.close()
            await asyncio.wait_for(task, 10)


async def test_discord_py_debug_log_shows_no_interaction_token() -> None:
    bot = commands.Bot(command_prefix="!", intents=discord.Intents.default(), guild_ready_timeout=0.05)

    @bot.tree.command(name="ambient", description="d")
    async def ambient(interaction: discord.Interaction) -> None:
        await interaction.response.defer(thinking=True)
        await interaction.edit_original_response(content="Queued")
        await interaction.followup.send("done")

    async with DiscordStandIn(token=BOT_TOKEN) as standin:
        guild = standin.add_guild("Log Guild")
        alice = standin.make_user("alice")
        standin.add_member(guild.id, alice)
        add_secret(standin.token)
        with captured_debug_log() as (redacted, raw):
            async with running(standin, bot):
                target = discord.Object(guild.id)
                bot.tree.copy_global_to(guild=target)
                await bot.tree.sync(guild=target)
                handle = await standin.invoke_command("ambient", user=alice, guild_id=guild.id)
                await handle.followup()
    # discord.py really prints the token at DEBUG (URLs and the INTERACTION_CREATE payload) ...
    assert handle.token in raw.getvalue()
    # ... and the bot's handler never lets it through.
    shown = redacted.getvalue()
    assert handle.token not in shown and BOT_TOKEN not in shown
    assert f"/interactions/{handle.id}/{REDACTED}/callback" in shown
    assert f"'token': '{REDACTED}'" in shown


def _json_lines(emit: Callable[[logging.Logger], None], kind: str = "json") -> list[dict[str, Any]]:
    """What the bot's own handler writes (configure_logging, then use_format), one dict per line."""
    stream = io.StringIO()
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    try:
        configure_logging(kind="text")
        use_format(kind)  # as after reading [logging] format
        for handler in root.handlers:
            handler.setStream(stream)  # type: ignore[attr-defined]
        emit(logging.getLogger("bot.jobs.delivery"))
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
    text = stream.getvalue()
    assert text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]


def test_json_logs_are_one_object_per_line_with_the_job() -> None:
    def emit(logger: logging.Logger) -> None:
        logger.info("loaded %d model(s)", 2)
        with job_context(42):
            logger.warning("job %d: posting again\nsecond line", 42)

    first, second = _json_lines(emit)
    assert set(first) == {"time", "level", "logger", "message"}  # no job: no job_id
    assert (first["level"], first["logger"], first["message"]) == (
        "INFO",
        "bot.jobs.delivery",
        "loaded 2 model(s)",
    )
    assert dt.datetime.fromisoformat(first["time"]).utcoffset() == dt.timedelta(0)
    assert second["job_id"] == 42 and second["level"] == "WARNING"
    assert second["message"] == "job 42: posting again\nsecond line"  # one line on the wire, escaped


def test_json_logs_redact_messages_and_tracebacks() -> None:
    add_secret(BOT_TOKEN)
    token = "aW50ZXJhY3Rpb246MTU3Njg6dXhT-_x"

    def emit(logger: logging.Logger) -> None:
        with job_context(7):
            try:
                raise RuntimeError(f"POST /webhooks/1/{token}/messages with {BOT_TOKEN}")
            except RuntimeError:
                logger.exception("payload {'token': '%s'} failed (%s)", token, BOT_TOKEN)

    (line,) = _json_lines(emit)
    everything = json.dumps(line)
    assert BOT_TOKEN not in everything and token not in everything
    assert line["message"] == f"payload {{'token': '{REDACTED}'}} failed ({REDACTED})"
    assert (
        line["exception"].startswith("Traceback") and f"/webhooks/1/{REDACTED}/messages" in line["exception"]
    )
    assert line["job_id"] == 7 and line["level"] == "ERROR"


def test_text_stays_the_default_format() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(JobFilter())
    handler.setFormatter(formatter())
    record = logging.LogRecord("bot", logging.INFO, __file__, 1, "hello", (), None)
    handler.handle(record)
    assert " level=INFO job=- logger=bot msg=hello" in stream.getvalue()
    with pytest.raises(ValueError, match="text, json"):
        formatter("xml")
