"""The studio in a real browser: headless Chromium (the system's package) driven by Playwright.

One studio process (``ambientgen studio`` on the tiny models) serves every test of this module.
Outside CI the tests skip when Chromium is not installed; in CI (``CI=true``) that is a failure,
since ``.ci/run`` installs it.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from generation.audio.loudness import integrated_loudness
from generation.audio.mp3 import decode_mp3, mp3_duration
from generation.audio.tags import read_tags
from tests.bot.studio.conftest import free_port

pytestmark = pytest.mark.e2e

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
    "--autoplay-policy=no-user-gesture-required",
]  # fmt: skip
#: Set to a folder (e.g. docs) to keep a screenshot of each tab there.
SCREENSHOTS_ENV = "AMBIENTGEN_STUDIO_SCREENSHOTS"
START_TIMEOUT_S = 180.0


def _require_browser() -> None:
    pytest.importorskip("playwright", reason="the browser tests need the dev extra (playwright)")
    pytest.importorskip("gradio", reason="the studio needs the 'studio' extra (gradio)")
    if CHROMIUM.exists():
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{CHROMIUM} is missing: .ci/run installs it (apt-get install -y chromium)")
    pytest.skip(f"headless Chromium is not installed ({CHROMIUM}; apt-get install chromium)")


@dataclass
class StudioProcess:
    url: str
    process: subprocess.Popen[str]
    folder: Path
    hold_file: Path
    presets_file: Path
    lines: list[str] = field(default_factory=list)

    def hold(self) -> None:
        self.hold_file.write_text("*\n", encoding="utf-8")

    def release(self) -> None:
        self.hold_file.unlink(missing_ok=True)


@pytest.fixture(scope="module")
def studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StudioProcess]:
    _require_browser()
    work = tmp_path_factory.mktemp("studio-e2e")
    config = work / "studio.toml"
    hold, presets = work / "hold.txt", work / "presets.json"
    config.write_text(
        f'[model]\nid = "tiny"\nalso = [{{ id = "tiny-sao" }}]\ntest_hold_file = "{hold}"\n'
        f'[presets]\nfile = "{presets}"\n',
        encoding="utf-8",
    )
    port = free_port()
    env = dict(os.environ, TMPDIR=str(work))  # its temporary folder where the test can see it
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "studio", "--config", str(config), "--port", str(port)],
        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env,
    )  # fmt: skip
    running = StudioProcess(f"http://127.0.0.1:{port}/", process, work, hold, presets)
    started = threading.Event()

    def read() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            running.lines.append(line)
            if "AmbientGen studio on" in line:
                started.set()
        started.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert started.wait(START_TIMEOUT_S) and process.poll() is None, "".join(running.lines[-20:])
        yield running
    finally:
        hold.unlink(missing_ok=True)
        process.send_signal(signal.SIGINT)  # Ctrl-C: the studio cleans up and exits
        status = process.wait(60)
        reader.join(10)
        if process.stderr is not None:
            process.stderr.close()
    assert status == 0, "".join(running.lines[-20:])
    assert not [line for line in running.lines if " level=ERROR " in line], "".join(running.lines)
    assert not list(work.glob("ambientgen-studio-*")), "the studio left its files behind"


@pytest.fixture(scope="module")
def browser(studio: StudioProcess) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _page(browser: object, url: str) -> object:
    page = browser.new_context(accept_downloads=True, viewport={"width": 1280, "height": 900}).new_page()  # type: ignore[attr-defined]
    page.goto(url)
    return page


def _field(page: object, elem_id: str) -> object:
    return page.locator(f"#{elem_id}").locator("textarea, input").first  # type: ignore[attr-defined]


def _screenshot(page: object, name: str, tmp_path: Path) -> None:
    target = os.environ.get(SCREENSHOTS_ENV)
    path = tmp_path / name
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(target) / name)


PLAYABLE = """() => {
  const a = document.querySelector('#create-audio audio');
  return a && a.src && a.readyState >= 3;
}"""


def test_create_plays_and_downloads_a_tagged_mp3(
    studio: StudioProcess, browser: object, tmp_path: Path
) -> None:
    page = _page(browser, studio.url)
    page.get_by_label("Prompt", exact=True).fill("rain on a tin roof")  # type: ignore[attr-defined]
    _field(page, "create-duration").fill("4")  # type: ignore[attr-defined]
    _field(page, "create-steps").fill("10")  # type: ignore[attr-defined]
    page.get_by_label("Loop", exact=True).check()  # type: ignore[attr-defined]
    clicked = time.perf_counter()
    page.get_by_role("button", name="Generate", exact=True).click()  # type: ignore[attr-defined]
    page.wait_for_function(PLAYABLE, timeout=120_000)  # type: ignore[attr-defined]
    playable_s = time.perf_counter() - clicked
    print(f"Generate to playable audio: {playable_s:.2f} s (tiny, 4 s, 10 steps)")
    player = page.locator("#create-audio audio")  # type: ignore[attr-defined]
    assert player.evaluate("a => a.loop") is True  # a looping take loops
    player.evaluate("a => a.play()")
    page.wait_for_function("() => document.querySelector('#create-audio audio').currentTime > 0.1")  # type: ignore[attr-defined]
    seed = _field(page, "create-seed").input_value()  # type: ignore[attr-defined]
    assert seed.isdigit()  # the random seed, shown after
    with page.expect_download() as download:  # type: ignore[attr-defined]
        page.get_by_role("button", name="Download MP3").click()  # type: ignore[attr-defined]
    mp3 = Path(download.value.path()).read_bytes()
    assert 2.0 < mp3_duration(mp3) < 4.0  # the loop is a little shorter than 4 s
    samples, rate = decode_mp3(mp3)
    assert abs(integrated_loudness(samples, rate) - -18.0) < 1.5
    tags = read_tags(mp3)
    assert (
        tags["seed"] == seed and tags["model"] == "tiny" and tags["prompt"].startswith("rain on a tin roof")
    )
    _screenshot(page, "studio-create.png", tmp_path)


def test_stop_ends_a_render_and_a_second_browser_is_served_after(
    studio: StudioProcess, browser: object
) -> None:
    first, second = _page(browser, studio.url), _page(browser, studio.url)
    studio.hold()
    try:
        for page, words in (
            (first, "rain held in the first browser"),
            (second, "waves in the second browser"),
        ):
            page.get_by_label("Prompt", exact=True).fill(words)  # type: ignore[attr-defined]
            _field(page, "create-duration").fill("3")  # type: ignore[attr-defined]
            _field(page, "create-steps").fill("10")  # type: ignore[attr-defined]
        first.get_by_role("button", name="Generate", exact=True).click()  # type: ignore[attr-defined]
        held = first.get_by_text(re.compile(r"step (\d+)/10")).first  # type: ignore[attr-defined]
        held.wait_for(timeout=60_000)
        step = int(re.search(r"step (\d+)/10", held.inner_text())[1])  # type: ignore[index]
        second.get_by_role("button", name="Generate", exact=True).click()  # type: ignore[attr-defined]
        second.get_by_text(re.compile(r"queue: \d+/\d+")).first.wait_for(timeout=30_000)  # its place, shown
        first.get_by_role("button", name="Stop", exact=True).click()  # type: ignore[attr-defined]
        stopped = first.locator("#create-status").get_by_text(re.compile(r"Stopped after step \d+"))  # type: ignore[attr-defined]
        stopped.wait_for(timeout=60_000)
        assert step <= int(re.search(r"after step (\d+)", stopped.inner_text())[1]) <= step + 2  # type: ignore[index]
    finally:
        studio.release()
    second.wait_for_function(PLAYABLE, timeout=120_000)  # type: ignore[attr-defined]
    assert "Take #" in second.locator("#create-status").inner_text()  # type: ignore[attr-defined]


def test_lab_grid_saves_a_preset_the_bot_offers(
    studio: StudioProcess, browser: object, tmp_path: Path
) -> None:
    from tests.e2e.harness import BackgroundWorld

    page = _page(browser, studio.url)
    page.get_by_role("tab", name="Compare").click()  # type: ignore[attr-defined]
    page.get_by_label("Words to compare", exact=True).fill("waves on a pebble beach")  # type: ignore[attr-defined]
    page.get_by_role("button", name="Render A and B").click()  # type: ignore[attr-defined]
    page.get_by_text(re.compile(r"which do you prefer")).wait_for(timeout=120_000)  # type: ignore[attr-defined]
    page.get_by_role("button", name="Reveal").click()  # type: ignore[attr-defined]
    page.get_by_text(re.compile(r"Take A: tiny")).wait_for()  # type: ignore[attr-defined]
    _screenshot(page, "studio-compare.png", tmp_path)

    page.get_by_role("tab", name="Prompt lab").click()  # type: ignore[attr-defined]
    page.get_by_label("Words", exact=True).fill("soft rain on leaves")  # type: ignore[attr-defined]
    page.locator("#lab-quality").get_by_label("off").check()  # type: ignore[attr-defined]
    page.get_by_label("Step values", exact=True).fill("10")  # type: ignore[attr-defined]
    _field(page, "lab-duration").fill("3")  # type: ignore[attr-defined]
    page.get_by_role("button", name="Render grid").click()  # type: ignore[attr-defined]
    page.get_by_text(re.compile(r"4 takes of")).wait_for(timeout=180_000)  # type: ignore[attr-defined]
    players = page.locator("#lab-table audio")  # type: ignore[attr-defined]
    assert players.count() == 4  # 2 variants × 2 seeds, a player each
    players.first.evaluate("a => a.play()")
    page.wait_for_function("() => document.querySelector('#lab-table audio').currentTime > 0.05")  # type: ignore[attr-defined]
    page.get_by_label("Preset name", exact=True).fill("Browser rain")  # type: ignore[attr-defined]
    page.get_by_role("button", name="Save as preset").click()  # type: ignore[attr-defined]
    page.get_by_text("Saved preset").wait_for()  # type: ignore[attr-defined]
    _screenshot(page, "studio-lab.png", tmp_path)
    assert "browser-rain" in studio.presets_file.read_text(encoding="utf-8")

    # A bot started afterwards offers it in /ambient preset:.
    (tmp_path / "bot").mkdir()
    background = BackgroundWorld(tmp_path / "bot", {"presets": {"file": str(studio.presets_file)}})
    try:
        world = background.world

        async def complete() -> list[str]:
            handle = await world.standin.invoke_autocomplete(
                "ambient", {"prompt": "x", "preset": "brow"}, focused="preset", user=world.carol,
                guild_id=world.guild.id, channel_id=world.channel_id,
            )  # fmt: skip
            await handle.response()
            return [choice["value"] for choice in handle.choices or []]

        assert background.run(complete()) == ["browser-rain"]
    finally:
        background.close()
