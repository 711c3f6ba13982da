"""Mp3Files: content addressing, atomic writes, path safety."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from bot.storage.files import Mp3Files


def _files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


async def test_save_is_content_addressed(tmp_path: Path) -> None:
    files = Mp3Files(tmp_path)
    data = b"ID3" + os.urandom(4096)
    digest = hashlib.sha256(data).hexdigest()
    rel, sha = await files.save(data)
    assert sha == digest
    assert rel == f"mp3/{digest[:2]}/{digest}.mp3"
    assert files.path(rel) == tmp_path / "mp3" / digest[:2] / f"{digest}.mp3"
    assert await files.read(rel) == data
    assert await files.exists(rel)

    assert await files.save(bytearray(data)) == (rel, sha)  # same bytes: same path
    assert _files_under(tmp_path) == [files.path(rel)]  # one file, no temp files left

    other_rel, other_sha = await files.save(data + b"\x00")
    assert other_sha != sha and other_rel != rel
    assert len(_files_under(tmp_path)) == 2


async def test_existing_file_is_not_rewritten(tmp_path: Path) -> None:
    files = Mp3Files(tmp_path)
    rel, _ = await files.save(b"abc")
    path = files.path(rel)
    os.utime(path, (1, 1))
    await files.save(b"abc")
    assert path.stat().st_mtime == 1


async def test_write_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = Mp3Files(tmp_path)
    data = b"complete mp3"

    def failing_replace(src: str, dst: str) -> None:
        # The complete temp file exists next to the target; the target itself does not.
        assert Path(src).read_bytes() == data and Path(src).parent == Path(dst).parent
        assert not Path(dst).exists()
        raise OSError("disk unplugged")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk unplugged"):
        await files.save(data)
    assert _files_under(tmp_path) == []  # no partial target, temp file cleaned up
    monkeypatch.undo()

    # A truncated leftover (e.g. copied by hand) is replaced, not trusted.
    digest = hashlib.sha256(data).hexdigest()
    target = files.path(Mp3Files.relative_path(digest))
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data[:3])
    rel, _ = await files.save(data)
    assert await files.read(rel) == data


async def test_delete(tmp_path: Path) -> None:
    files = Mp3Files(tmp_path)
    rel, _ = await files.save(b"xyz")
    assert await files.delete(rel)
    assert not await files.exists(rel)
    assert not await files.delete(rel)


@pytest.mark.parametrize("bad", ["", "/etc/passwd", "../secret.mp3", "mp3/../../x", "mp3\\ab\\x.mp3", "C:x"])
def test_paths_cannot_leave_the_data_folder(tmp_path: Path, bad: str) -> None:
    with pytest.raises(ValueError, match="data folder"):
        Mp3Files(tmp_path).path(bad)


async def test_empty_data_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="empty"):
        await Mp3Files(tmp_path).save(b"")
