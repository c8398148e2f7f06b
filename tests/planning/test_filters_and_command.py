"""The RA/Dec box and the priorities among the shared filters; ``exofop-mcp plan`` at a terminal; the site list."""

from __future__ import annotations

import gzip
import json
from importlib import resources

import pytest

from exofop_mcp.cli.main import main
from exofop_mcp.errors import UnknownSiteError
from exofop_mcp.planning.sites import SITES, site_named
from exofop_mcp.site.coordinates import parse_sexagesimal
from tests.helpers.environment import server_env
from tests.helpers.tool_client import error, ok

pytestmark = pytest.mark.anyio


def snapshot_rows() -> list[dict[str, str]]:
    """The replica's TOI table, read here on its own (not through the catalog)."""
    data = resources.files("exofop_mcp.replica").joinpath("data", "toi_table.pipe.gz").read_bytes()
    lines = gzip.decompress(data).decode().splitlines()
    header = lines[0].split("|")
    return [dict(zip(header, line.split("|"), strict=True)) for line in lines[1:] if line]


def expected_tois(keep) -> set[str]:
    found = set()
    for row in snapshot_rows():
        ra, dec = parse_sexagesimal(row["RA"], hours=True), parse_sexagesimal(row["Dec"], hours=False)
        if ra is not None and dec is not None and keep(row, ra, dec):
            found.add(row["TOI"])
    return found


async def all_rows(settings, args: dict) -> set[str]:
    found: set[str] = set()
    offset: int | None = 0
    while offset is not None:
        page = await ok(settings, "search_tois", {**args, "offset": offset, "limit": 200})
        found |= {row["toi"] for row in page["rows"]}
        offset = page.get("next_offset")
    return found


async def test_search_by_declination_band_and_a_box_through_0h(warm_settings):
    args = {"dec_min_deg": 40.0, "dec_max_deg": 60.0, "ra_min_deg": 350.0, "ra_max_deg": 20.0}
    found = await all_rows(warm_settings, args)
    expected = expected_tois(lambda row, ra, dec: 40 <= dec <= 60 and (ra >= 350 or ra <= 20))
    assert found == expected and 5 < len(found) < 500


async def test_search_by_priority(warm_settings):
    found = await all_rows(warm_settings, {"sg1a_priority_max": 4, "dec_max_deg": -80.0})
    expected = expected_tois(lambda row, ra, dec: dec <= -80 and row["SG1A"] != "" and int(row["SG1A"]) <= 4)
    assert found == expected and len(expected) > 0
    page = await ok(warm_settings, "search_tois", {"sg1a_priority_max": 4, "sort_by": "-sg1a_priority"})
    assert {row["sg1a_priority"] for row in page["rows"]} == {4}


async def test_an_inverted_declination_band_is_refused(warm_settings):
    message = await error(warm_settings, "search_tois", {"dec_min_deg": 10, "dec_max_deg": -10})
    assert "'dec_min_deg' (10.0) is above 'dec_max_deg' (-10.0)" in message


async def test_the_planner_applies_the_same_filters(warm_settings):
    args = {"observatory": "lco-coj", "start_date": "2026-04-14", "nights": 3, "dec_max_deg": -60.0}
    page = await ok(warm_settings, "plan_transits", {**args, "sg1a_priority_max": 4, "limit": 200})
    assert page["filters"] == {"dec_max_deg": "-60.0", "sg1a_priority_max": "4"}
    allowed = expected_tois(lambda row, ra, dec: dec <= -60 and row["SG1A"] != "" and int(row["SG1A"]) <= 4)
    assert page["returned"] > 0 and {e["toi"] for e in page["events"]} <= allowed
    assert page["targets"] <= len(allowed)


# -- the command -----------------------------------------------------------------------------------


@pytest.fixture
def env(warm_settings, monkeypatch):
    for name, value in server_env(warm_settings).items():
        monkeypatch.setenv(name, value)
    return warm_settings


def test_plan_command_speaks_terminal(env, capsys):
    code = main(["plan", "lco-ctio", "2026-04-14", "--nights", "2", "--limit", "3", "--sg1b-priority-max", "5"])
    out = capsys.readouterr().out
    assert code == 0
    assert "transit(s) at least 50% observable at lco-ctio" in out and "Night 2026-04-14: dark" in out
    assert "More events: the same command with --offset 3." in out
    assert "plan_transits" not in out and "offset=" not in out and "min_observable_fraction" not in out
    assert "--min-observable-fraction" in out  # the note about the transits left out names the flag


def test_plan_command_json_is_the_tool_output_and_draws_charts(env, capsys):
    argv = ["plan", "--latitude-deg", "-30.47", "--longitude-deg", "-70.76", "--elevation-m", "1550", "2026-04-14"]
    code = main([*argv, "--systems", "TOI-1130", "--min-observable-fraction", "0", "--chart", "--json"])
    page = json.loads(capsys.readouterr().out)
    assert code == 0 and page["events"]
    for event in page["events"]:
        assert (env.data_dir / event["system"] / event["chart"]).is_file()
    assert main([*argv, "--systems", "TOI-1130", "--min-observable-fraction", "0", "--chart"]) == 0
    assert f"Chart: {env.data_dir}/TOI-1130/plans/" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["plan", "lco-ctio", "tomorrow"], "START_DATE 'tomorrow'"),
        (["plan", "lco-ctio", "2026-04-14", "--nights", "0"], "--nights '0'"),
        (["plan", "2026-04-14"], "give SITE (a site name) or all three of --latitude-deg, --longitude-deg and"),
    ],
)
def test_plan_command_usage_errors_name_flags(env, capsys, argv, words):
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert words in err and "observatory" not in err and "_deg" not in err


def test_plan_command_unknown_site(env, capsys):
    assert main(["plan", "speculos", "2026-04-14"]) == 1
    err = capsys.readouterr().err
    assert "No observatory named 'speculos'" in err and "speculoos-south" in err


# -- the sites ---------------------------------------------------------------------------------------


def test_every_site_has_a_place_a_zone_and_a_source():
    import zoneinfo

    assert len({s.key for s in SITES}) == len(SITES) >= 30
    for site in SITES:
        assert -90 <= site.latitude_deg <= 90 and -180 <= site.longitude_deg <= 180 and site.source
        assert zoneinfo.ZoneInfo(site.timezone or "")
        assert site_named(site.key.upper().replace("-", " ")) is site


def test_aliases_and_misspellings():
    assert site_named("TRAPPIST-N").key == "trappist-north"
    assert site_named("Observatoire de Haute-Provence").key == "ohp"
    with pytest.raises(UnknownSiteError) as caught:
        site_named("Mount Palomar Observatory X")
    assert caught.value.code == "unknown_site"
