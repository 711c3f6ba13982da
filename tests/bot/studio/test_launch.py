"""``ambientgen studio``: safe by default, one line for what can't work, files cleaned by age."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from bot.cli import main
from bot.studio.files import StudioFiles
from bot.studio.launch import AUTH_ENV, is_loopback, studio_auth


def test_only_loopback_listens_without_a_login() -> None:
    assert studio_auth("127.0.0.1", {}) is None and studio_auth("localhost", {}) is None
    assert studio_auth("::1", {}) is None and is_loopback("[::1]")
    with pytest.raises(ValueError, match=f"--host 0.0.0.0 serves the studio to the network: set {AUTH_ENV}"):
        studio_auth("0.0.0.0", {})
    assert studio_auth("0.0.0.0", {AUTH_ENV: "ann:s3cret:x"}) == ("ann", "s3cret:x")
    with pytest.raises(ValueError, match="must be user:password"):
        studio_auth("0.0.0.0", {AUTH_ENV: "ann"})


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (
            ["--host", "0.0.0.0"],
            f"ambientgen: --host 0.0.0.0 serves the studio to the network: set {AUTH_ENV}",
        ),
        (["--port", "0"], "ambientgen: --port must be 1-65535"),
        (["--config", "{tmp}/missing.toml"], "ambientgen: "),
        (["--config", "{tmp}/ok.toml", "--model", "tiny"], "ambientgen: --model applies without --config"),
    ],
)
def test_refused_with_one_line(
    argv: list[str],
    expected: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(AUTH_ENV, raising=False)
    (tmp_path / "ok.toml").write_text('[model]\nid = "tiny"\n', encoding="utf-8")
    status = main(["studio", *(a.replace("{tmp}", str(tmp_path)) for a in argv)])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2 and len(err) == 1 and err[0].startswith(expected), err


def test_a_bad_presets_file_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    presets = tmp_path / "presets.json"
    presets.write_text("{ nope", encoding="utf-8")
    config = tmp_path / "studio.toml"
    config.write_text(f'[model]\nid = "tiny"\n[presets]\nfile = "{presets}"\n', encoding="utf-8")
    assert main(["studio", "--config", str(config)]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"ambientgen: presets file {presets}: invalid JSON")


def test_files_are_pruned_by_age_and_removed_at_exit(tmp_path: Path) -> None:
    files = StudioFiles(tmp_path, max_age_s=60)
    old = files.write("old.mp3", b"old")
    os.utime(old.parent, (time.time() - 120, time.time() - 120))
    new = files.write("new.mp3", b"new")  # writing prunes what is older than max_age_s
    assert not old.exists() and new.read_bytes() == b"new" and new.name == "new.mp3"
    files.cleanup()
    assert not files.root.exists() and tmp_path.exists()
