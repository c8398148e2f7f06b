from pathlib import Path

import pytest

from exofop_mcp.errors import ConfigurationError
from exofop_mcp.settings import DEFAULT_BASE_URL, Settings


def test_defaults_come_from_platformdirs_not_the_package():
    s = Settings.from_env({})
    assert s.base_url == DEFAULT_BASE_URL
    package_dir = Path(__file__).resolve().parents[1] / "exofop_mcp"
    for d in (s.data_dir, s.cache_dir, s.config_dir):
        assert "exofop-mcp" in str(d)
        assert not str(d).startswith(str(package_dir))


def test_environment_overrides(tmp_path):
    s = Settings.from_env(
        {
            "EXOFOP_BASE_URL": "http://127.0.0.1:8765/tess/",
            "EXOFOP_MCP_DATA_DIR": str(tmp_path / "d"),
            "EXOFOP_MCP_CACHE_DIR": str(tmp_path / "c"),
            "EXOFOP_MCP_CONFIG_DIR": str(tmp_path / "k"),
            "EXOFOP_MCP_CONCURRENCY": "3",
        }
    )
    assert s.base_url == "http://127.0.0.1:8765"
    assert s.tess_url == "http://127.0.0.1:8765/tess"
    assert s.data_dir == tmp_path / "d" and s.cache_dir == tmp_path / "c" and s.config_dir == tmp_path / "k"
    assert s.concurrency == 3


@pytest.mark.parametrize(
    ("var", "value"),
    [
        ("EXOFOP_BASE_URL", "ftp://x"),
        ("EXOFOP_BASE_URL", "not a url"),
        ("EXOFOP_BASE_URL", "http://x/?a=1"),
        ("EXOFOP_MCP_CONCURRENCY", "0"),
        ("EXOFOP_MCP_CONCURRENCY", "100"),
        ("EXOFOP_MCP_CONCURRENCY", "four"),
        ("EXOFOP_MCP_CATALOG_TTL_HOURS", "-1"),
    ],
)
def test_invalid_settings_name_the_variable(var, value):
    with pytest.raises(ConfigurationError) as err:
        Settings.from_env({var: value})
    assert var in str(err.value)


def test_data_dir_that_is_a_file_is_rejected(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(ConfigurationError, match="EXOFOP_MCP_DATA_DIR"):
        Settings.from_env({"EXOFOP_MCP_DATA_DIR": str(f)})


@pytest.mark.parametrize(
    ("var", "value", "attr", "expected"),
    [
        ("EXOFOP_MCP_CATALOG_TTL_HOURS", "2.5", "catalog_ttl_hours", 2.5),
        ("EXOFOP_MCP_MAX_RETRIES", "0", "max_retries", 0),
        ("EXOFOP_MCP_RETRY_BASE_DELAY", "0.1", "retry_base_delay", 0.1),
        ("EXOFOP_MCP_STALL_SECONDS", "5", "stall_seconds", 5.0),
        ("EXOFOP_MCP_TAG_DEADLINE_SECONDS", "60", "tag_deadline_seconds", 60.0),
        ("EXOFOP_MCP_READ_TIMEOUT", "12", "read_timeout", 12.0),
    ],
)
def test_every_tuning_variable_is_read(var, value, attr, expected):
    assert getattr(Settings.from_env({var: value}), attr) == expected
    with pytest.raises(ConfigurationError, match=var):
        Settings.from_env({var: "-5"})
