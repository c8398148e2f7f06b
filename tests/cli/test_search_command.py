"""``exofop-mcp search``: the search_tois filters as flags, text or --json."""

from __future__ import annotations

import json

import pytest

from exofop_mcp.cli.main import main
from tests.helpers.environment import server_env


@pytest.fixture
def env(warm_settings, monkeypatch):
    for name, value in server_env(warm_settings).items():
        monkeypatch.setenv(name, value)
    return warm_settings


def test_search_json_is_the_tool_output(env, capsys):
    code = main(["search", "--tfopwg-disposition", "PC,APC", "--tess-mag-max", "10", "--limit", "5", "--json"])
    out = capsys.readouterr().out
    assert code == 0
    page = json.loads(out)
    assert page["returned"] == 5 and page["filters"]["tfopwg_disposition"] == "PC,APC"
    assert all(row["tess_mag"] <= 10 for row in page["rows"])


def test_search_text_and_sorting(env, capsys):
    assert main(["search", "--tfopwg-disposition", "PC", "APC", "--sort-by=-depth_ppm", "--limit", "3"]) == 0
    out = capsys.readouterr().out
    assert "sorted by -depth_ppm; rows 1-3 shown" in out and "More rows: run the same command with --offset 3." in out


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["search", "--tess-mag-max", "bright"], "--tess-mag-max 'bright'"),
        (["search", "--tess-mag-min", "12", "--tess-mag-max", "10"], "--tess-mag-min"),
        (["search", "--limit", "500"], "--limit"),
    ],
)
def test_bad_flags_exit_2_naming_the_flag(env, capsys, argv, words):
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    assert words in capsys.readouterr().err
