"""The sandbox discipline for files: open first, check the opened descriptor, read it only; write only
into real folders; remove only what is reached with no link on the way."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from exofop_mcp.errors import AtomicWriteError, FileTooLargeError, SandboxEscapeError, UnsafeFileError
from exofop_mcp.sandbox_files import NotAFileError, open_folder_for_writing, open_inside, remove_inside


@pytest.fixture
def tree(tmp_path: Path) -> tuple[Path, Path, Path]:
    """(sandbox root, a system's directory in it, a folder outside holding a secret)."""
    root = tmp_path / "data"
    system = root / "TOI-1"
    (system / "tag" / "sub").mkdir(parents=True)
    (system / "tag" / "sub" / "table.tbl").write_text("time\tflux\n1\t2\n3\t4\n")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret")
    return root, system, outside


def test_links_that_stay_inside_are_followed_and_the_real_path_is_told(tree):
    root, system, _ = tree
    os.symlink("sub/table.tbl", system / "tag" / "inside.tbl")
    os.symlink(system / "tag" / "sub", system / "tag" / "folder")  # absolute, inside
    for path in ("tag/inside.tbl", "tag/folder/table.tbl", "tag/./sub/../sub/table.tbl"):
        with open_inside(system, path, root=root) as opened:
            assert opened.relative.as_posix() == "tag/sub/table.tbl"
            assert opened.read(1000).startswith(b"time")


@pytest.mark.parametrize(
    ("name", "target"),
    [
        ("abs.txt", "{outside}/secret.txt"),
        ("rel.txt", "../../../outside/secret.txt"),
        ("folder", "{outside}"),
        ("loop", "loop"),
    ],
)
def test_links_leading_out_are_refused(tree, name, target):
    root, system, outside = tree
    os.symlink(target.format(outside=outside), system / "tag" / name)
    path = f"tag/{name}/secret.txt" if name == "folder" else f"tag/{name}"
    with pytest.raises(SandboxEscapeError):
        open_inside(system, path, root=root)


@pytest.mark.parametrize("path", ["../TOI-1/tag/sub/table.tbl", "tag/../../x", "/etc/passwd", "tag/sub/../../.."])
def test_paths_that_climb_out_are_refused(tree, path):
    root, system, _ = tree
    with pytest.raises(SandboxEscapeError):
        open_inside(system, path, root=root)


def test_a_system_folder_linked_outside_the_sandbox_is_refused(tree, tmp_path):
    root, _, outside = tree
    (outside / "TOI-2").mkdir()
    (outside / "TOI-2" / "a.txt").write_text("x")
    os.symlink(outside / "TOI-2", root / "TOI-2")
    with pytest.raises(SandboxEscapeError):
        open_inside(root / "TOI-2", "a.txt", root=root)


def test_a_fifo_is_refused_without_waiting(tree):
    root, system, _ = tree
    os.mkfifo(system / "tag" / "pipe.tbl")
    started = time.monotonic()
    with pytest.raises(NotAFileError, match="FIFO"):
        open_inside(system, "tag/pipe.tbl", root=root)
    assert time.monotonic() - started < 2


def test_a_folder_is_no_file_and_a_hard_link_is_refused(tree):
    root, system, outside = tree
    with pytest.raises(NotAFileError) as folder:
        open_inside(system, "tag/sub", root=root, folders=True)
    assert folder.value.entries == ["table.tbl"]
    os.link(outside / "secret.txt", system / "tag" / "hard.txt")
    with pytest.raises(UnsafeFileError, match="hard link"):
        open_inside(system, "tag/hard.txt", root=root)


def test_reads_stop_at_the_size_at_open(tree):
    root, system, _ = tree
    path = system / "tag" / "sub" / "table.tbl"
    with open_inside(system, "tag/sub/table.tbl", root=root) as opened:
        size = opened.size
        with path.open("a") as f:
            f.write("5\t6\n" * 1000)  # the file grows after it was opened
        assert len(opened.read(1 << 20)) == size
        assert len(list(opened.lines())) == 3
        assert len(opened.binary().read()) == size


def test_caps_refuse_with_the_reason(tree):
    root, system, _ = tree
    (system / "tag" / "long.txt").write_bytes(b"x" * 5000 + b"\nshort\n")
    with open_inside(system, "tag/long.txt", root=root) as opened:
        with pytest.raises(FileTooLargeError, match="more than the 100 bytes"):
            opened.read(100)
        with pytest.raises(FileTooLargeError, match=r"line 1 .* longer than 1,000 bytes"):
            list(opened.lines(max_line_bytes=1000))


def test_a_swapped_file_is_never_read_through_its_link(tree):
    """What was opened is what is read: a rename after the open changes nothing."""
    root, system, outside = tree
    path = system / "tag" / "sub" / "table.tbl"
    with open_inside(system, "tag/sub/table.tbl", root=root) as opened:
        os.rename(path, path.with_name("moved.tbl"))
        os.symlink(outside / "secret.txt", path)
        assert b"secret" not in opened.read(1000)


def test_writes_refuse_every_link_on_the_way(tree):
    root, system, outside = tree
    with open_folder_for_writing(root, "TOI-1/light_curves/5") as folder:
        written = folder.write("a.ecsv", b"data")
    assert written.read_bytes() == b"data"
    os.symlink(outside, system / "light_curves" / "6")
    os.symlink(system / "tag", system / "light_curves" / "7")  # even a link that stays inside
    for tag in ("6", "7"):
        with pytest.raises(SandboxEscapeError, match=f"light_curves/{tag} is a symbolic link"):
            open_folder_for_writing(root, f"TOI-1/light_curves/{tag}")
    assert sorted(p.name for p in outside.iterdir()) == ["secret.txt"]


def test_a_link_at_the_written_name_is_replaced_not_followed(tree):
    root, system, outside = tree
    (system / "light_curves").mkdir()
    os.symlink(outside / "secret.txt", system / "light_curves" / "a.png")
    with open_folder_for_writing(root, "TOI-1/light_curves") as folder:
        folder.write("a.png", b"png")
    assert (outside / "secret.txt").read_text() == "secret"
    assert not (system / "light_curves" / "a.png").is_symlink()


def test_removal_never_follows_a_link(tree):
    root, system, outside = tree
    (system / "light_curves").mkdir()
    os.symlink(outside, system / "light_curves" / "8")
    with pytest.raises(SandboxEscapeError):
        remove_inside(root, "TOI-1/light_curves/8/secret.txt")
    os.symlink(outside / "secret.txt", system / "light_curves" / "link.png")
    assert remove_inside(root, "TOI-1/light_curves/link.png")  # the link itself goes
    assert (outside / "secret.txt").read_text() == "secret"
    assert not remove_inside(root, "TOI-1/light_curves/missing.png")


def test_a_read_only_folder_is_a_named_write_failure(tree):
    root, system, _ = tree
    from tests.helpers.hostile_sandbox import read_only

    with read_only(root), pytest.raises(AtomicWriteError) as failed:
        open_folder_for_writing(root, "TOI-1/light_curves/9")
    assert failed.value.code == "write_failed"
    assert str(system / "light_curves") in str(failed.value)
    assert "Read-only file system" in str(failed.value) or "Permission denied" in str(failed.value)
