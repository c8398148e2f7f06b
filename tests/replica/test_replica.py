"""The ExoFOP replica's pages: tables, name resolution, observation summaries, per-star tables."""

from __future__ import annotations

import csv
import gzip
import io
import json
import random
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from exofop_mcp.replica import Replica, ReplicaConfig, dataset
from exofop_mcp.replica.state import shared_dataset
from exofop_mcp.replica.tag_numbers import TAG_BASE, TAG_MODULUS

SNAPSHOT = Path("/work/shared/data/toi_table.pipe")
PACKAGED = Path(dataset.__file__).parent / "data" / "toi_table.pipe.gz"

TSERIES_HEADER = (
    "TIC ID|TIC|TOI|Telescope|Camera|Filter|Pixel Scale|PSF|Phot Aperture Rad|Obs Date|Obs Duration|Num Obs"
    "|Obs Type|Transit Coverage|Delta Mag|User|Group|Tag|Notes"
)
SPECT_HEADER = (
    "TIC ID|TIC|TOI|Telescope|Instrument|Spectral resolution|Wavelength coverage|SNR/resolution|SNR wavelength"
    "|Appropriate to PRV|Obs Date|User|Group|Tag|Notes"
)
IMAGING_HEADER = (
    "TIC ID|TIC|TOI|Telescope|Instrument|Filter|Image Type|Pixel Scale|PSF|Contrast|Obs Date|User|Group|Tag|Notes"
)
COMPANION_HEADER = (
    "TIC ID|TOI|Separation (arcsec)|Separation (arcsec) Error|Pos Angle E of N (deg)"
    "|Pos Angle E of N (deg) Error|Filter|Delta Mag|Delta Mag Error|Observation Date (UT)|Date|User|Group|Tag|Notes"
)
NEARBY_HEADER = (
    "TIC ID|TOI|RA|Dec|TESS Mag|GAIA DR2|GAIA Mag|Distance (pc)|Distance Err (pc)|PM RA (mas/yr)"
    "|PM RA Err (mas/yr)|PM Dec (mas/yr)|PM Dec Err (mas/yr)|Separation (arcsec)|Position Angle (deg E. of N.)"
)
FILELIST_HEADER = "Type|File Name|File ID|TIC|TOI|Date|User|Group|Tag|Description"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Replica]:
    cache = tmp_path_factory.mktemp("replica-pages")
    with Replica(ReplicaConfig(cache_dir=str(cache))) as replica:
        yield replica


@pytest.fixture
def http(site: Replica) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=site.base_url, timeout=30) as client:
        yield client


def pipe(client: httpx.Client, page: str, **params: str) -> list[list[str]]:
    response = client.get(f"/tess/{page}", params={"output": "pipe", **params})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return [line.split("|") for line in response.text.splitlines()]


def resolve(client: httpx.Client, target: str) -> dict[str, object]:
    response = client.get("/tess/gototicid.php", params={"target": target, "json": ""})
    assert response.status_code == 200
    result: dict[str, object] = json.loads(response.content)
    return result


# --- TOI table ------------------------------------------------------------------------------------------
def test_full_toi_table_is_byte_identical_to_the_snapshot(http: httpx.Client) -> None:
    response = http.get("/tess/download_toi.php", params={"sort": "toi", "output": "pipe"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; charset=UTF-8"
    assert int(response.headers["content-length"]) == len(response.content)
    assert response.content == gzip.decompress(PACKAGED.read_bytes())
    if SNAPSHOT.exists():
        assert response.content == SNAPSHOT.read_bytes()
    lines = response.content.split(b"\n")
    assert len(lines) == 7712 and lines[-1] == b""  # header + 7,710 rows + final newline


def test_one_host_toi_gives_its_rows_only(http: httpx.Client) -> None:
    rows = pipe(http, "download_toi.php", toi="1130")
    assert rows[0][:2] == ["TIC ID", "TOI"]
    assert [row[1] for row in rows[1:]] == ["1130.01", "1130.02"]
    assert all(row[0] == "254113311" for row in rows[1:])
    assert pipe(http, "download_toi.php", toi="1130.02")[1][1] == "1130.02"
    assert len(pipe(http, "download_toi.php", toi="99999")) == 1  # unknown: header only


def test_toi_table_other_outputs(http: httpx.Client) -> None:
    text = http.get("/tess/download_toi.php", params={"toi": "101"}).text
    assert text.splitlines()[0].startswith("TIC ID\tTOI\t")
    rows = list(
        csv.reader(io.StringIO(http.get("/tess/download_toi.php", params={"toi": "101", "output": "csv"}).text))
    )
    assert rows[1][0] == "231663901" and rows[1][-1] == "WASP-46 b"


@pytest.mark.parametrize(
    ("quirk", "check"),
    [
        ("renamed_columns", lambda r: r.status_code == 200 and r.text.startswith("TIC|TOI Number|")),
        ("html", lambda r: r.status_code == 200 and "text/html" in r.headers["content-type"]),
        ("garbage", lambda r: r.status_code == 200 and "TIC ID" not in r.text),
        ("redirect", lambda r: r.status_code == 302 and "/tess/login.php" in r.headers["location"]),
    ],
)
def test_toi_table_quirks(site: Replica, http: httpx.Client, quirk: str, check: object) -> None:
    site.configure(toi_table_quirk=quirk)
    try:
        response = http.get("/tess/download_toi.php", params={"output": "pipe"})
        assert callable(check) and check(response)
    finally:
        site.configure(toi_table_quirk=None)


# --- names --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("target", "tic"),
    [
        ("254113311", "254113311"),
        ("TIC 254113311", "254113311"),
        ("tic-254113311", "254113311"),
        ("TOI-1130", "254113311"),
        ("toi_1130.02", "254113311"),
        ("1130.01", "254113311"),
        ("TOI1130", "254113311"),
        ("WASP-46 b", "231663901"),
        ("wasp_46", "231663901"),
        ("WASP 62 b", "149603524"),
        ("LP 791-18", str(dataset.BUSY_SYSTEM_TIC)),
        ("TOI-1130 b", "254113311"),
        ("Kepler-633", str(dataset.KEPLER_633_TIC)),
    ],
)
def test_gototicid_resolves(http: httpx.Client, target: str, tic: str) -> None:
    assert resolve(http, target) == {"status": "OK", "num": 1, "TIC": tic}


def test_gototicid_unknown_and_ambiguous(http: httpx.Client) -> None:
    assert resolve(http, "Not A Star 42") == {"status": "ERROR", "message": "No object found."}
    assert resolve(http, "TOI-99999")["status"] == "ERROR"
    ambiguous = resolve(http, dataset.AMBIGUOUS_NAME)
    assert ambiguous["num"] == 2
    assert ambiguous["TIC"] == [str(tic) for tic in dataset.AMBIGUOUS_NAME_TICS]
    table = shared_dataset().table
    assert all(tic in table.stars for tic in dataset.AMBIGUOUS_NAME_TICS)
    assert dataset.KEPLER_633_TIC not in table.stars
    assert shared_dataset().names.ambiguous() == {"cpd587912": list(dataset.AMBIGUOUS_NAME_TICS)}


# --- observation tables -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("page", "header"),
    [
        ("download_tseries.php", TSERIES_HEADER),
        ("download_spect.php", SPECT_HEADER),
        ("download_imaging.php", IMAGING_HEADER),
        ("download_stellarcomp.php", COMPANION_HEADER),
    ],
)
def test_observation_pages_have_the_documented_columns(http: httpx.Client, page: str, header: str) -> None:
    for target in ("254113311", "TIC254113311", "TOI1130", "TOI1130.01", "TOI-1130 b"):
        rows = pipe(http, page, target=target)
        assert "|".join(rows[0]) == header
        assert len(rows) > 1
        assert all(len(row) == len(rows[0]) for row in rows)
        assert {row[0] for row in rows[1:]} == {"254113311"}
    assert len(pipe(http, page, target="TIC 9999999999")) == 1  # unknown target: header only
    assert len(pipe(http, page, target="no such star")) == 1


def test_toi_1130_has_the_real_rows_and_the_catalog_counts(http: httpx.Client) -> None:
    response = http.get("/tess/download_tseries.php", params={"target": "TOI1130", "output": "pipe"})
    lines = response.text.splitlines()
    for real in dataset.TOI_1130_REAL_TSERIES_LINES:
        assert real in lines
    toi_row = pipe(http, "download_toi.php", toi="1130")
    header = toi_row[0]
    counts = [
        int(toi_row[1][header.index(name)])
        for name in ("Time Series Observations", "Spectroscopy Observations", "Imaging Observations")
    ]
    assert counts == [79, 21, 4]
    assert len(lines) - 1 == 79
    assert len(pipe(http, "download_spect.php", target="254113311")) - 1 == 21
    assert len(pipe(http, "download_imaging.php", target="254113311")) - 1 == 4
    tois = {row[2] for row in pipe(http, "download_tseries.php", target="254113311")[1:]}
    assert tois <= {"TOI 1130.01", "TOI 1130.02"}


def test_empty_busy_and_soak_systems(http: httpx.Client) -> None:
    for page in ("download_tseries.php", "download_spect.php", "download_imaging.php"):
        assert len(pipe(http, page, target=str(dataset.EMPTY_SYSTEM_TIC))) == 1
    busy = pipe(http, "download_tseries.php", target=str(dataset.BUSY_SYSTEM_TIC))
    assert len(busy) - 1 == dataset.BUSY_SYSTEM_TSERIES_ROWS
    assert len({row[17] for row in busy[1:]}) > 250
    for tic in dataset.SOAK_SYSTEM_TICS:
        rows = pipe(http, "download_tseries.php", target=str(tic))
        assert 4 <= len(rows) - 1 <= 12


def test_no_target_gives_the_whole_site_table(http: httpx.Client) -> None:
    rows = pipe(http, "download_tseries.php")
    assert {int(row[0]) for row in rows[1:]} >= {dataset.TOI_1130_TIC, dataset.BUSY_SYSTEM_TIC}


def test_generated_rows_match_the_catalog_for_every_sampled_star() -> None:
    data = shared_dataset()
    stars = list(data.table.stars.values())
    for star in random.Random(7).sample(stars, 300):
        observations = data.observations(star.tic)
        for kind in ("tseries", "spect", "imaging"):
            assert len(observations.rows(kind)) == data.row_count(star, kind)
            for row in observations.rows(kind):
                assert all("|" not in cell for cell in row)
                tag = int(row[dataset.COLUMNS[kind].index("Tag")])
                assert TAG_BASE <= tag < TAG_BASE + TAG_MODULUS
                assert data.tag_owner(tag) == (star.tic, kind)
                assert row[dataset.COLUMNS[kind].index("Group")] == "tfopwg"
                assert "2018-08-20" <= row[dataset.COLUMNS[kind].index("Obs Date")] <= "2025-09-30"


def test_rows_are_deterministic_and_tags_repeat_only_within_a_star() -> None:
    from exofop_mcp.replica.dataset import Dataset

    fresh = Dataset()
    assert fresh.observations(dataset.TOI_1130_TIC) == shared_dataset().observations(dataset.TOI_1130_TIC)
    owners: dict[str, int] = {}
    for tic in (*dataset.SOAK_SYSTEM_TICS, dataset.TOI_1130_TIC, dataset.BUSY_SYSTEM_TIC):
        for kind in ("tseries", "spect", "imaging"):
            for row in fresh.observations(tic).rows(kind):
                assert owners.setdefault(row[-2], tic) == tic
    notes = [row[-1] for row in fresh.observations(dataset.BUSY_SYSTEM_TIC).tseries]
    assert any("," in note for note in notes) and any('"' in note for note in notes)


def test_reserved_tags_are_not_generated() -> None:
    allocation = shared_dataset().allocation
    reserved = [*dataset.SPECIAL_TAGS.values(), *dataset.PROPRIETARY_TAGS, *dataset.TOI_1130_REAL_TAGS]
    assert not any(allocation.is_allocated(tag) for tag in [*reserved, dataset.UNKNOWN_TAG])
    assert shared_dataset().tag(dataset.UNKNOWN_TAG) is None


def test_observation_csv_quotes_free_text(http: httpx.Client) -> None:
    text = http.get("/tess/download_tseries.php", params={"target": str(dataset.BUSY_SYSTEM_TIC), "output": "csv"}).text
    rows = list(csv.reader(io.StringIO(text)))
    assert len(rows) - 1 == dataset.BUSY_SYSTEM_TSERIES_ROWS
    assert any('"' in row[-1] for row in rows[1:])


def test_tag_summary_pages(http: httpx.Client) -> None:
    rows = pipe(http, "download_tag_tseries.php", tag="19442")
    assert "|".join(rows[1]) == dataset.TOI_1130_REAL_TSERIES_LINES[4]
    assert len(pipe(http, "download_tag_spect.php", tag="19442")) == 1
    spect_tag = shared_dataset().observations(dataset.TOI_1130_TIC).spect[0][-2]
    assert len(pipe(http, "download_tag_spect.php", tag=spect_tag)) >= 2


# --- per-star tables and pages --------------------------------------------------------------------------------
def test_nearby_stellar_and_planet_tables(http: httpx.Client) -> None:
    nearby = pipe(http, "download_nearbytarget.php", id="254113311")
    assert "|".join(nearby[0]) == NEARBY_HEADER
    assert nearby[1][0] == "254113311" and len(nearby) >= 4
    stellar = pipe(http, "download_stellar.php", id="254113311")
    assert stellar[0][0] == "Table" and {"User", "Date", "Notes"} <= set(stellar[0])
    assert {"TIC", "TOI", "Stellar"} <= {row[0] for row in stellar[1:]}
    kepler = pipe(http, "download_stellar.php", id=str(dataset.KEPLER_633_TIC))
    assert {row[0] for row in kepler[1:]} == {"TIC", "Kepler"}
    planet = pipe(http, "download_planet.php", id="254113311")
    assert {row[1] for row in planet[1:]} == {"1130.01", "1130.02"}


def test_filelist_lists_the_files_of_every_tag(http: httpx.Client) -> None:
    rows = pipe(http, "download_filelist.php", id="254113311")
    assert "|".join(rows[0]) == FILELIST_HEADER
    tags = {row[8] for row in rows[1:]}
    assert {str(tag) for tag in dataset.TOI_1130_REAL_TAGS} <= tags
    assert len(tags) == len(shared_dataset().tags_of(dataset.TOI_1130_TIC))
    assert any(row[1].endswith("_measurements.tbl") for row in rows[1:])
    assert pipe(http, "download_filelist.php", toi="1130") == rows
    assert len(pipe(http, "download_filelist.php", id=str(dataset.EMPTY_SYSTEM_TIC))) == 1


def test_obsnotes_user_tags_and_target_page(http: httpx.Client) -> None:
    notes = pipe(http, "download_obsnotes.php", tag="19442")
    assert notes[1][-1] == "nominal .02 with overlapping .01"
    assert len(pipe(http, "download_obsnotes.php", tid="254113311")) > 2
    user_tags = pipe(http, "download_user_tags.php", username="tan")
    assert "18493" in {row[0] for row in user_tags[1:]}
    page = http.get("/tess/target.php", params={"id": "254113311"})
    assert page.status_code == 200 and "TOI-1130.01" in page.text
    assert http.get("/tess/no_such_page.php").status_code == 404
