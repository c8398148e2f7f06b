"""SystemDirectory.check_links: a link leading outside the sandbox is refused wherever it is on the way."""

from __future__ import annotations

from pathlib import Path

import pytest

from exofop_mcp.downloads.sandbox import SandboxLinkError, SystemDirectory


def make(tmp_path: Path) -> tuple[SystemDirectory, Path]:
    root, outside = tmp_path / "data", tmp_path / "outside"
    (root / "TOI-1130").mkdir(parents=True)
    outside.mkdir()
    return SystemDirectory(root, "TOI-1130"), outside


def test_a_plain_tree_and_missing_folders_pass(tmp_path):
    directory, _ = make(tmp_path)
    (directory.path / "time_series").mkdir()
    directory.check_links()  # archives/, tables/ ... do not exist yet: nothing to follow


def test_a_kind_folder_linked_outside_is_refused(tmp_path):
    directory, outside = make(tmp_path)
    (directory.path / "time_series").symlink_to(outside)
    with pytest.raises(SandboxLinkError, match="outside the download sandbox"):
        directory.check_links()


def test_a_file_below_a_linked_folder_is_refused_when_asked_about(tmp_path):
    directory, outside = make(tmp_path)
    (outside / "18493").mkdir()
    (directory.path / "time_series").symlink_to(outside)
    with pytest.raises(SandboxLinkError):
        directory.check_links(directory.path / "time_series" / "18493")


def test_a_path_that_climbs_out_with_dots_is_refused(tmp_path):
    directory, _ = make(tmp_path)
    with pytest.raises(SandboxLinkError):
        directory.check_links(directory.path / ".." / ".." / "outside")


def test_links_that_stay_inside_the_sandbox_are_fine(tmp_path):
    directory, _ = make(tmp_path)
    (directory.root / "store").mkdir()
    (directory.path / "tables").symlink_to(directory.root / "store")
    directory.check_links()
