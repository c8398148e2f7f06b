#!/usr/bin/env python3
"""Build the desktop extension bundle (``dist/exofop-mcp-<version>.mcpb``) and validate its manifest.

The bundle is a zip of ``manifest.json`` plus the package source, ``pyproject.toml``, README and
LICENSE; the host runs it with ``uv`` (server type ``uv``), which installs the dependencies.
Installing it asks for the data directory (a directory picker).

    python3 scripts/build_mcpb.py                   # build; validate when `mcpb` is on PATH
    python3 scripts/build_mcpb.py --mcpb /tmp/mcpb/node_modules/.bin/mcpb

The official validator is npm's @anthropic-ai/mcpb (``npm install --prefix /tmp/mcpb @anthropic-ai/mcpb``).
"""

from __future__ import annotations

import argparse
import inspect
import json
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
INCLUDED = ("pyproject.toml", "README.md", "LICENSE")


def version() -> str:
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    found = re.search(r'^version\s*=\s*"([^"]+)"', text, re.MULTILINE)
    if not found:
        raise SystemExit("build_mcpb: no version in pyproject.toml")
    return found.group(1)


def manifest() -> dict[str, object]:
    from exofop_mcp.mcp_server.prompts import PROMPTS

    tools = [
        ("resolve_system", "Resolve any TIC id, TOI or star name to one canonical system"),
        ("list_observations", "List time series, spectroscopy, imaging and more for a system"),
        ("download_tags", "Download observation tags into the local sandbox"),
        ("download_status", "Report on a download job"),
        ("cancel_download", "Stop a running download job"),
        ("list_downloads", "List what is already downloaded: systems, tags, their key files and sizes"),
        ("extract_light_curves", "Turn downloaded time series into standardised light curves (ECSV and a plot)"),
        ("extraction_status", "Report on a light-curve extraction"),
        ("login_status", "Whether proprietary ExoFOP data is reachable"),
        ("preview_file", "Look at a downloaded file: image, table, FITS header, text, light curve"),
        ("search_tois", "Search the TOI catalog, e.g. for TOIs that still need follow-up"),
        ("plan_transits", "Which TOI transits a site can observe tonight or over the coming nights"),
        ("follow_up_status", "Where a TOI's follow-up stands and what it still needs"),
        ("whats_new", "What changed on your targets (or your watch list) since a date"),
    ]
    return {
        "manifest_version": "0.4",
        "name": "exofop-mcp",
        "display_name": "ExoFOP-TESS",
        "version": version(),
        "description": "ExoFOP-TESS follow-up observations: find a system, see what was observed, get the data.",
        "long_description": "An MCP server for ExoFOP-TESS: resolve TESS targets by any name, list ground-based "
        "light curves, spectra and imaging, download tags into a verified local directory, preview the files "
        "and search the TOI catalog. Log in for proprietary data with `exofop-mcp login` in a terminal.",
        "author": {"name": "exofop-mcp developers"},
        "icon": "icon.png",
        "license": "MIT",
        "keywords": ["astronomy", "exoplanets", "TESS", "ExoFOP"],
        "server": {
            "type": "uv",
            "entry_point": "exofop_mcp/__main__.py",
            "mcp_config": {
                "command": "uv",
                "args": ["run", "--directory", "${__dirname}", "exofop-mcp"],
                "env": {"EXOFOP_MCP_DATA_DIR": "${user_config.data_dir}"},
            },
        },
        "tools": [{"name": name, "description": text} for name, text in tools],
        "prompts": [_prompt(fn, name, description) for fn, name, _, description in PROMPTS],
        "user_config": {
            "data_dir": {
                "type": "directory",
                "title": "Data directory",
                "description": "Where downloads are kept, one folder per system (nothing is written outside it).",
                "required": True,
                "default": "${HOME}/exofop-data",
            }
        },
        "compatibility": {"platforms": ["darwin", "linux", "win32"], "runtimes": {"python": ">=3.11"}},
    }


def _prompt(fn: Callable[..., str], name: str, description: str) -> dict[str, object]:
    """A prompt as the manifest lists it: its arguments, and its text with ${arguments.NAME} placeholders."""
    arguments = list(inspect.signature(fn).parameters)
    text = fn(**{arg: f"${{arguments.{arg}}}" for arg in arguments})
    return {"name": name, "description": description, "arguments": arguments, "text": text}


def stage(directory: Path) -> None:
    (directory / "manifest.json").write_text(json.dumps(manifest(), indent=2) + "\n", encoding="utf-8")
    for name in INCLUDED:
        shutil.copy2(ROOT / name, directory / name)
    shutil.copy2(ROOT / "exofop_mcp" / "mcp_server" / "icons" / "exofop-mcp.png", directory / "icon.png")
    shutil.copytree(
        ROOT / "exofop_mcp", directory / "exofop_mcp", ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
    )


def pack(directory: Path, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as bundle:
        for path in sorted(directory.rglob("*")):
            if path.is_file():
                bundle.write(path, path.relative_to(directory).as_posix())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build dist/exofop-mcp-<version>.mcpb")
    parser.add_argument("--out", type=Path, default=ROOT / "dist", help="output directory (default dist/)")
    parser.add_argument("--mcpb", help="the mcpb command (default: `mcpb` on PATH, if any)")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    out = args.out / f"exofop-mcp-{version()}.mcpb"
    validator = args.mcpb or shutil.which("mcpb")
    with tempfile.TemporaryDirectory() as tmp:
        staging = Path(tmp)
        stage(staging)
        if validator:
            done = subprocess.run([validator, "validate", str(staging / "manifest.json")], check=False)
            if done.returncode != 0:
                print("build_mcpb: the manifest does not validate", file=sys.stderr)
                return 1
        else:
            print("build_mcpb: `mcpb` not found, manifest not validated (see --help)", file=sys.stderr)
        pack(staging, out)
    print(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
