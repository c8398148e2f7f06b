from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from exofop_mcp.cli.arguments import add_settings_options, bounded, settings_from_args
from exofop_mcp.errors import ConfigurationError


def test_bounded_whole_numbers() -> None:
    parse = bounded(int, 1, 16)
    assert parse("1") == 1 and parse(" 16 ") == 16
    for text, message in (("0", "between 1 and 16, got 0"), ("17", "got 17"), ("x", "a whole number, got 'x'")):
        with pytest.raises(argparse.ArgumentTypeError, match=message):
            parse(text)
    with pytest.raises(argparse.ArgumentTypeError, match="at least 1, got -3"):
        bounded(int, 1)("-3")
    assert bounded(int, 1)("999999") == 999999


def test_bounded_decimal_numbers() -> None:
    parse = bounded(float, 0.0, 3600.0, exclusive_low=True)
    assert parse("0.5") == 0.5 and parse("3600") == 3600.0
    for text in ("0", "-1", "3600.5", "nan", "inf"):
        with pytest.raises(argparse.ArgumentTypeError, match="more than 0 and at most 3600"):
            parse(text)
    with pytest.raises(argparse.ArgumentTypeError, match="a number, got 'soon'"):
        parse("soon")


def test_bounded_in_a_parser_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser(prog="x")
    parser.add_argument("--sessions", type=bounded(int, 1, 16))
    with pytest.raises(SystemExit) as exit_info:
        parser.parse_args(["--sessions", "40"])
    assert exit_info.value.code == 2
    assert "argument --sessions: must be between 1 and 16, got 40" in capsys.readouterr().err


def parsed(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="x")
    add_settings_options(parser)
    return parser.parse_args(list(argv))


def test_settings_from_args(tmp_path: Path) -> None:
    environ = {"EXOFOP_BASE_URL": "https://env.example.org", "EXOFOP_MCP_CONCURRENCY": "2"}
    plain = settings_from_args(parsed(), environ)
    assert plain.base_url == "https://env.example.org" and plain.concurrency == 2
    args = parsed(
        "--base-url", "http://127.0.0.1:8000/tess/",
        "--data-dir", str(tmp_path / "data"),
        "--cache-dir", str(tmp_path / "cache"),
        "--config-dir", str(tmp_path / "config"),
        "--concurrency", "3",
        "--log-level", "DEBUG",
    )  # fmt: skip
    settings = settings_from_args(args, environ)
    assert settings.base_url == "http://127.0.0.1:8000"
    assert settings.data_dir == (tmp_path / "data").resolve()
    assert settings.cache_dir == (tmp_path / "cache").resolve()
    assert settings.config_dir == (tmp_path / "config").resolve()
    assert settings.concurrency == 3 and args.log_level == "DEBUG"


def test_settings_from_args_refuses_bad_values() -> None:
    with pytest.raises(ConfigurationError, match="--base-url must be an http"):
        settings_from_args(parsed("--base-url", "ftp://example.org"), {})
    with pytest.raises(ConfigurationError, match=r"^--concurrency must be between 1 and 16, got 0") as refused:
        settings_from_args(parsed("--concurrency", "0"), {})
    assert "EXOFOP_MCP_CONCURRENCY" not in str(refused.value)  # the flag is to blame, not the variable
