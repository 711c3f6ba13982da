"""The documentation site builds with ``mkdocs build --strict``: no broken link or anchor, and
every page in the navigation (the same build a reader's ``mkdocs serve`` makes)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def build(root: Path, site: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}  # Material's end-of-life banner is not ours
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_site_builds_strictly(tmp_path: Path) -> None:
    result = build(ROOT, tmp_path / "site")
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "site" / "how-it-works" / "architecture" / "index.html").exists()


def test_a_broken_link_or_a_page_left_out_of_the_navigation_fails_the_build(tmp_path: Path) -> None:
    copy = tmp_path / "repo"
    shutil.copytree(ROOT / "docs", copy / "docs")
    shutil.copy(ROOT / "mkdocs.yml", copy / "mkdocs.yml")
    page = copy / "docs" / "index.md"
    original = page.read_text(encoding="utf-8")
    page.write_text(original + "\n[gone](running/no-such-page.md)\n", encoding="utf-8")
    broken = build(copy, tmp_path / "a")
    assert broken.returncode != 0 and "no-such-page.md" in broken.stdout + broken.stderr
    page.write_text(original + "\n[anchor](running/setup.md#no-such-heading)\n", encoding="utf-8")
    anchor = build(copy, tmp_path / "b")
    assert anchor.returncode != 0 and "no-such-heading" in anchor.stdout + anchor.stderr
    page.write_text(original, encoding="utf-8")
    (copy / "docs" / "orphan.md").write_text("# Not in the navigation\n", encoding="utf-8")
    orphan = build(copy, tmp_path / "c")
    assert orphan.returncode != 0 and "orphan.md" in orphan.stdout + orphan.stderr
