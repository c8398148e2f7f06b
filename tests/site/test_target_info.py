"""target.php?id=...&json in its real shape: served by the replica, read by the client, and used by
resolve_system (the star's other names, accepted as queries), over real sockets."""

from __future__ import annotations

import json

import httpx
import pytest
from astropy import units as u
from astropy.coordinates import SkyCoord

from exofop_mcp.api import Exofop
from exofop_mcp.errors import ExofopResponseError
from exofop_mcp.replica import dataset
from exofop_mcp.site.target_info import parse_target_info
from tests.helpers.tool_client import call, ok, text_of

pytestmark = pytest.mark.anyio

REAL_KEYS = [
    "basic_info",
    "coordinates",
    "tois",
    "ctois",
    "planet_units",
    "planet_parameters",
    "stellar_units",
    "stellar_parameters",
    "stellar_companions_units",
    "stellar_companions",
    "magnitudes",
    "imaging_units",
    "imaging",
    "spectroscopy_units",
    "spectroscopy",
    "time_series_units",
    "time_series",
    "files",
]


def target_json(replica, target: str) -> httpx.Response:
    return httpx.get(f"{replica.tess_url}/target.php", params={"id": target, "json": ""})


def test_the_replica_serves_the_real_shape(replica):
    answer = target_json(replica, "254113311").json()
    assert list(answer) == REAL_KEYS
    basic = answer["basic_info"]
    assert list(basic) == ["tic_id", "star_names", "confirmed_planets", "k2_campaign", "tic_contamination_ratio"]
    names = basic["star_names"].split(", ")
    assert names[0] == "TIC 254113311" and names[1].startswith("2MASS J19053024-41261")
    assert any(n.startswith("Gaia DR3 ") for n in names) and any(n.startswith("Gaia DR2 ") for n in names)
    assert basic["tic_contamination_ratio"].startswith(".")  # no leading zero, as the real site prints it
    coords = answer["coordinates"]
    assert all(isinstance(coords[k], str) for k in ("ra", "dec", "galactic_long", "ecliptic_lat"))
    star = SkyCoord(float(coords["ra"]) * u.deg, float(coords["dec"]) * u.deg, frame="icrs")
    assert float(coords["galactic_long"]) == pytest.approx(star.galactic.l.deg, abs=1e-4)
    assert float(coords["galactic_lat"]) == pytest.approx(star.galactic.b.deg, abs=1e-4)
    ecliptic = star.transform_to("barycentricmeanecliptic")
    assert float(coords["ecliptic_long"]) == pytest.approx(ecliptic.lon.deg, abs=1e-3)
    assert float(coords["ecliptic_lat"]) == pytest.approx(ecliptic.lat.deg, abs=1e-3)
    assert [t["toi"] for t in answer["tois"]] == ["1130.01", "1130.02"] and answer["tois"][0]["disp_tfop"] == "CP"
    assert answer["stellar_parameters"][0]["prov"] == "tic" and answer["planet_parameters"][0]["prov"] == "toi"
    assert {m["band"] for m in answer["magnitudes"]} >= {"TESS", "V", "B"}
    assert set(answer["files"][0]) == {"fname", "fid", "ftoi", "ftype", "fdate", "fuser", "fgroup", "ftag", "fdesc"}
    assert target_json(replica, "TOI1130").json()["basic_info"]["tic_id"] == "254113311"  # id= takes TOIs


def test_an_unknown_id_answers_a_page_not_json(replica):
    response = target_json(replica, "1")
    assert response.status_code == 200 and "No TIC object found" in response.text
    with pytest.raises(ValueError):
        json.loads(response.text)
    assert parse_target_info(response.text) is None


def test_parsing_skips_provenance_headers_and_takes_strings_without_a_leading_zero():
    answer = {
        "basic_info": {"tic_id": "12", "star_names": "TIC 12, Gaia DR3 99, HD 1&amp;2, , TIC 12", "k2_campaign": None},
        "coordinates": {"ra": "286.376", "dec": "-.5"},
        "magnitudes": [{"band": "V", "value": "9.1"}, {"band": "TESS", "value": ".95"}],
        "stellar_parameters": [{"prov": "tic", "prov_title": "TIC v8.2", "prov_num": "1"}, {"teff": "5000", "x": None}],
        "files": [{"fname": "a.csv", "fid": "7", "ftag": "0", "fdesc": "x<br>y"}, {"fid": "8"}],
        "tois": [{"toi": "1.01", "disp_tfop": "PC"}, "junk"],
    }
    info = parse_target_info(json.dumps(answer))
    assert info is not None and info.tic_id == 12
    assert info.star_names == ["TIC 12", "Gaia DR3 99", "HD 1&2"] and info.other_names == ["Gaia DR3 99", "HD 1&2"]
    assert (info.ra_deg, info.dec_deg, info.tess_mag) == (286.376, -0.5, 0.95)
    assert info.stellar_parameters == [{"teff": "5000"}]
    assert [(f.file_name, f.file_id, f.tag, f.description) for f in info.files] == [("a.csv", 7, None, "x\ny")]
    assert [t.toi for t in info.tois] == ["1.01"]
    for odd in ("<html>maintenance</html>", "[]", '{"basic_info": {"tic_id": "x"}}'):
        with pytest.raises(ExofopResponseError):
            parse_target_info(odd)


async def test_resolve_system_offers_the_other_names_and_takes_them_as_queries(warm_settings):
    system = await ok(warm_settings, "resolve_system", {"query": "TOI-1130"})
    names = system["other_names"]
    assert names[0].startswith("2MASS J") and not any(n.startswith("TIC") for n in names)
    gaia = next(n for n in names if n.startswith("Gaia DR3 "))
    async with Exofop(warm_settings) as exofop:
        for alias in (gaia, names[0], gaia.replace("Gaia DR3 ", "gaia dr3 ")):
            again = await exofop.resolve_system(alias)
            assert (again.canonical_name, again.matched_by, again.matched_name) == ("TOI-1130", "name_resolver", alias)
        assert "HD 219666" in (await exofop.resolve_system("TIC 266980320")).other_names
        star = await exofop.resolve_system("Kepler-633")  # no TOI: coordinates come from the same page
        assert star.tic_id == dataset.KEPLER_633_TIC and star.ra_deg == pytest.approx(291.0308)
        assert star.other_names[:2] == ["Kepler-633", "2MASS J19240739+4705009"]


async def test_the_resolve_text_names_the_other_names(warm_settings):
    result = await call(warm_settings, "resolve_system", {"query": "TOI-1130"})
    text = text_of(result)
    assert "Also known as: 2MASS J" in text and "Gaia DR3 " in text


async def test_other_names_are_remembered_and_a_failing_target_page_only_costs_them(warm_settings, replica):
    async with Exofop(warm_settings) as exofop:
        first = await exofop.resolve_system("TOI-1130")
    asked = replica.count("target.php")
    assert asked == 1 and first.other_names
    async with Exofop(warm_settings) as exofop:  # another process: the names come from the cache on disk
        assert (await exofop.resolve_system("TOI-1130")).other_names == first.other_names
    assert replica.count("target.php") == asked
    replica.configure(error_rate=1.0, fault_kinds=("5xx",), fault_paths=("target.php",))
    async with Exofop(warm_settings) as exofop:
        system = await exofop.resolve_system("TOI-1000")
    assert system.canonical_name == "TOI-1000" and system.other_names == []
    assert any(note.startswith("The star's other names are unknown") for note in system.notes)
