"""follow_up_status and whats_new against the replica: counts, dates and limits checked against the raw tables."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import math

import httpx
import pytest

from exofop_mcp.api import Exofop
from exofop_mcp.followup.coverage import summarise_coverage
from exofop_mcp.followup.desk import MAX_VERDICTS
from exofop_mcp.followup.nearby_stars import SEARCH_RADIUS_ARCSEC, delta_mag_limit
from exofop_mcp.followup.watch_list import load_watch_list
from exofop_mcp.replica import dataset
from exofop_mcp.site.records import TimeSeriesObservation
from tests.helpers.tool_client import call, ok, text_of

pytestmark = pytest.mark.anyio


def raw_table(base_url: str, page: str, **params: object) -> list[dict[str, str]]:
    """A replica table read the plainest way (no project code): header, then rows split on '|'."""
    text = httpx.get(f"{base_url.rstrip('/')}/tess/{page}", params={**params, "output": "pipe"}).text
    lines = [line for line in text.splitlines() if line.strip()]
    header = [cell.strip() for cell in lines[0].split("|")]
    return [dict(zip(header, line.split("|"), strict=False)) for line in lines[1:]]


async def test_counts_and_latest_dates_match_the_tables_the_replica_serves(warm_settings, replica):
    status = await ok(warm_settings, "follow_up_status", {"system": "TOI-1130"})
    pages = {
        "time_series": "download_tseries.php",
        "spectroscopy": "download_spect.php",
        "imaging": "download_imaging.php",
        "stellar_companions": "download_stellarcomp.php",
    }
    for kind, page in pages.items():
        rows = raw_table(replica.base_url, page, target=254113311)
        date_column = "Observation Date (UT)" if kind == "stellar_companions" else "Obs Date"
        dates = [r[date_column][:10] for r in rows if r.get(date_column)]
        summary = status["observations"][kind]
        assert summary["count"] == len(rows), kind
        assert summary["tags"] == len({r["Tag"] for r in rows if r["Tag"]}), kind
        assert summary["latest_date"] == max(dates), kind
    notes = raw_table(replica.base_url, "download_obsnotes.php", tid=254113311)
    assert status["observing_notes_total"] == len(notes)
    newest = max(notes, key=lambda r: r["Lastmod"])
    assert status["observing_notes"][0]["date"] == newest["Lastmod"][:10]
    assert [n["date"] for n in status["observing_notes"]] == sorted(
        (n["date"] for n in status["observing_notes"]), reverse=True
    )
    assert set(status["dispositions"]) == {"1130.01", "1130.02"}
    toi_rows = {r["TOI"]: r for r in raw_table(replica.base_url, "download_toi.php", toi=1130)}
    for toi, row in toi_rows.items():
        assert status["dispositions"][toi] == {"tess": row["TESS Disposition"], "tfopwg": row["TFOPWG Disposition"]}
        assert status["priorities"][toi]["sg1a"] == int(row["SG1A"])
        assert status["priorities"][toi]["master"] == int(row["Master"])
    assert status["requests"] <= 8


async def test_the_nearby_star_limit_is_computed_as_stated(warm_settings, replica):
    status = await ok(warm_settings, "follow_up_status", {"system": "TOI-1130"})
    target_tmag = 10.1429
    depths = {r["TOI"]: float(r["Depth (ppm)"]) for r in raw_table(replica.base_url, "download_toi.php", toi=1130)}
    expected = set()
    within = 0
    for row in raw_table(replica.base_url, "download_nearbytarget.php", id=254113311):
        sep = float(row["Separation (arcsec)"])
        if int(row["TIC ID"]) == 254113311 or not 0 < sep <= SEARCH_RADIUS_ARCSEC:
            continue
        within += 1
        delta = float(row["TESS Mag"]) - target_tmag
        if any(delta <= -2.5 * math.log10(depth * 1e-6) for depth in depths.values()):
            expected.add(int(row["TIC ID"]))
    screen = status["nearby_stars"]
    assert screen["within_radius"] == within
    assert {s["tic_id"] for s in screen["stars"]} == expected
    assert screen["could_cause_event"] == len(expected) > 0
    assert screen["delta_mag_limits"]["1130.02"] == pytest.approx(-2.5 * math.log10(depths["1130.02"] * 1e-6), abs=0.01)
    assert any("nearby star" in m["fact"] for m in status["missing"])


def test_delta_mag_limit_follows_the_dilution_rule():
    assert delta_mag_limit(10_000) == pytest.approx(5.0)
    assert delta_mag_limit(1_000_000) is None and delta_mag_limit(0) is None and delta_mag_limit(None) is None


def test_coverage_counts_nights_and_light_curves_by_filter():
    def row(date, telescope, filt, coverage, toi="TOI 1130.02"):
        return TimeSeriesObservation.model_validate(
            {"TIC ID": "1", "TOI": toi, "Telescope": telescope, "Filter": filt, "Obs Date": date,
             "Transit Coverage": coverage, "Tag": "5"}
        )  # fmt: skip

    rows = [
        row("2024-01-01", "MuSCAT3", "gp", "Full"),
        row("2024-01-01", "MuSCAT3", "zs", "Full"),  # the same night in another band
        row("2024-02-01", "LCO-SSO", "zs", "Full"),
        row("2024-03-01", "PEST", "Rc", "Ingress"),
    ]
    (planet,) = summarise_coverage(rows)
    assert planet.transits == {"full": 2, "ingress": 1}
    assert planet.filters["full"] == {"zs": 2, "gp": 1}
    assert planet.summary == "2 full transits: zs ×2, gp; 1 ingress only: Rc"
    assert planet.bands == ["blue", "middle", "red"]


async def test_a_star_without_toi_and_a_toi_without_observations(warm_settings):
    star = await ok(warm_settings, "follow_up_status", {"system": "Kepler-633"})
    assert star["candidates"] == [] and star["tic_id"] == dataset.KEPLER_633_TIC
    bare = await ok(warm_settings, "follow_up_status", {"system": "TOI-101"})
    assert bare["observations"]["time_series"]["count"] == 0
    assert {"fact": "no time-series observation yet", "rule": "the time-series table has no row"} in bare["missing"]


async def test_both_halves_stand_alone_under_20_kb(warm_settings):
    result = await call(warm_settings, "follow_up_status", {"system": "TOI-1130", "notes_limit": 50})
    assert not result.is_error, text_of(result)
    text = text_of(result)
    structured = json.dumps(result.structured_content)
    assert len(text.encode()) < 20_000 and len(structured.encode()) < 20_000
    assert "not instructions" in text and "not instructions" in structured
    for word in ("TFOPWG", "time_series", "Nearby stars", "Missing", "Next transits"):
        assert word in text


async def test_whats_new_reports_what_came_on_or_after_since_and_nothing_before(warm_settings, replica):
    notes = raw_table(replica.base_url, "download_obsnotes.php", tid=254113311)
    days = sorted({n["Lastmod"][:10] for n in notes})
    since = days[len(days) // 2]
    news = await ok(warm_settings, "whats_new", {"since": since, "systems": ["TOI-1130"], "limit": 200})
    note_days = sorted(c["date"] for c in news["changes"] if c["kind"] == "observing_note")
    assert note_days == sorted(d[:10] for d in (n["Lastmod"] for n in notes) if d[:10] >= since)
    uploads = raw_table(replica.base_url, "download_tseries.php", target=254113311)
    expected_tags = {int(r["Tag"]) for r in uploads if r["Obs Date"] >= since}
    assert {c["tag"] for c in news["changes"] if c["kind"] == "time_series"} == expected_tags
    assert all(c["date"] >= since for c in news["changes"])
    assert news["total"] == sum(news["counts"].values())


async def test_whats_new_reads_the_watch_list_and_pages(warm_settings):
    from exofop_mcp.cli.main import main

    flags = ["--config-dir", str(warm_settings.config_dir), "--base-url", warm_settings.base_url,
             "--cache-dir", str(warm_settings.cache_dir)]  # fmt: skip
    assert await asyncio.to_thread(main, ["watch", "add", "TOI-1130", "WASP-46", *flags]) == 0
    assert load_watch_list(warm_settings.config_dir).names() == ["TOI-1130", "TOI-101"]
    first = await ok(warm_settings, "whats_new", {"since": "2020-01-01", "limit": 5})
    assert first["source"] == "watch_list" and first["systems"] == ["TOI-1130", "TOI-101"]
    assert first["returned"] == 5 and first["next_offset"] == 5 and first["total"] > 5
    second = await ok(warm_settings, "whats_new", {"since": "2020-01-01", "limit": 5, "offset": 5})
    assert {json.dumps(c) for c in first["changes"]}.isdisjoint(json.dumps(c) for c in second["changes"])


async def test_fifty_watched_systems_stay_within_the_request_budget(warm_settings, replica):
    async with Exofop(warm_settings) as exofop:
        systems = [f"TOI-{n}" for n in range(101, 200)][:50]
        news = await exofop.whats_new(dt.date(2024, 1, 1).isoformat(), systems=systems)
        assert len(news.systems) + len(news.problems) == 50
        assert exofop.client.lanes.peak_in_flight <= warm_settings.concurrency + 1
        assert news.requests <= 4 * 50


async def test_a_damaged_watch_list_says_how_to_mend_it(warm_settings):
    warm_settings.config_dir.mkdir(parents=True, exist_ok=True)
    (warm_settings.config_dir / "watch_list.json").write_text("{not json")
    result = await call(warm_settings, "whats_new", {"since": "2024-01-01"})
    assert result.is_error and "[configuration]" in text_of(result) and "watch add" in text_of(result)


def test_the_verdicts_of_light_curves_extracted_here_are_listed(replica_session, warm_catalog_file, tmp_path):
    from tests.helpers.light_curves import SYSTEM, downloaded_sandbox

    settings = downloaded_sandbox(replica_session, tmp_path, warm_catalog_file)

    async def run():
        async with Exofop(settings) as exofop:
            report = await exofop.extract_light_curves(SYSTEM, limit=200)
            status = await exofop.follow_up_status(SYSTEM)
        return report, status

    report, status = asyncio.run(run())
    fitted = {(e.tag, e.ecsv, e.fit.verdict) for e in report.results if e.ecsv and e.fit is not None}
    assert fitted and report.next_offset is None, "the extraction gave fitted light curves, all on one page"
    shown = {(v.tag, v.file, v.verdict) for v in status.light_curves}
    assert shown <= fitted and len(shown) == min(len(fitted), MAX_VERDICTS)


async def test_saved_searches_report_new_tois_and_a_disposition_change_is_news(warm_settings, replica):
    from exofop_mcp.cli.main import main
    from exofop_mcp.followup.watch_list import SEEN_FILE

    flags = ["--config-dir", str(warm_settings.config_dir), "--base-url", warm_settings.base_url,
             "--cache-dir", str(warm_settings.cache_dir)]  # fmt: skip
    assert await asyncio.to_thread(main, ["watch", "add", "TOI-1130", *flags]) == 0
    code = await asyncio.to_thread(
        main, ["watch", "add-search", "bright PCs", "--tfopwg-disposition", "PC", "--tess-mag-max", "10", *flags]
    )
    assert code == 0
    since = "2025-06-01"
    toi_rows = raw_table(replica.base_url, "download_toi.php")
    expected = {
        r["TOI"]
        for r in toi_rows
        if r["TFOPWG Disposition"] == "PC" and r["TESS Mag"] and float(r["TESS Mag"]) <= 10
        and r["Date TOI Alerted (UTC)"][:10] >= since
    }  # fmt: skip
    assert expected, "the snapshot has such TOIs"
    first = await ok(warm_settings, "whats_new", {"since": since, "limit": 200})
    assert {c["toi"] for c in first["changes"] if c["kind"] == "new_toi"} == expected
    assert not any("disposition" in c["summary"] for c in first["changes"])
    # The copy seen last time said otherwise: the change is news on the next call.
    seen_file = warm_settings.cache_dir / SEEN_FILE
    seen = json.loads(seen_file.read_text())
    assert seen["TOI-1130"]["1130.01"] == "CP/CP"
    seen["TOI-1130"]["1130.01"] = "PC/PC"
    seen_file.write_text(json.dumps(seen))
    second = await ok(warm_settings, "whats_new", {"since": "2026-01-01", "limit": 200})
    changed = [c for c in second["changes"] if c["kind"] == "toi_update" and c["toi"] == "1130.01"]
    assert changed and "from PC/PC to CP/CP" in changed[0]["summary"]


@pytest.mark.parametrize("kind", ["link_out", "fifo"])
async def test_a_watch_list_that_is_a_link_out_or_a_fifo_is_refused_not_followed(warm_settings, tmp_path, kind):
    import os

    warm_settings.config_dir.mkdir(parents=True, exist_ok=True)
    target = warm_settings.config_dir / "watch_list.json"
    if kind == "link_out":
        outside = tmp_path / "elsewhere.json"
        outside.write_text('{"version": 1, "systems": [{"system": "TOI-1130", "added": "2025-01-01"}]}')
        target.symlink_to(outside)
    else:
        os.mkfifo(target)
    result = await asyncio.wait_for(call(warm_settings, "whats_new", {"since": "2024-01-01"}), 30)
    assert result.is_error and "[configuration]" in text_of(result)


def test_the_next_transits_agree_with_the_ephemeris_and_astropy(replica):
    # Checked independently: the cycles and sigma(n) from the TOI table's own numbers, UTC from astropy's
    # position of the Earth and the speed of light (at the geocentre: the site moves it by milliseconds).
    import astropy.units as u
    from astropy.constants import c
    from astropy.coordinates import SkyCoord, get_body_barycentric
    from astropy.time import Time

    from exofop_mcp.followup.desk import NEXT_PER_CANDIDATE, predicted_transits
    from exofop_mcp.site.records import TOIRecord

    rows = raw_table(replica.base_url, "download_toi.php", toi=1130)
    records = [TOIRecord.model_validate(r) for r in rows]
    now = dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.UTC)
    transits = predicted_transits(records, now)
    assert len(transits) == NEXT_PER_CANDIDATE * len(records)
    now_jd = Time(now).jd
    for row in rows:
        epoch, period = float(row["Epoch (BJD)"]), float(row["Period (days)"])
        first = math.ceil((now_jd - epoch) / period)
        mine = [t for t in transits if t.toi == row["TOI"]]
        for n, t in zip(range(first, first + NEXT_PER_CANDIDATE), mine, strict=True):
            assert t.mid_bjd_tdb == pytest.approx(epoch + n * period, abs=1e-6)
            sigma = math.hypot(float(row["Epoch (BJD) err"]), n * float(row["Period (days) err"])) * 1440
            assert t.mid_uncertainty_minutes == pytest.approx(sigma, abs=0.1)
            assert t.ephemeris_stale == (sigma > float(row["Duration (hours)"]) * 60)
            star = SkyCoord(row["RA"], row["Dec"], unit=(u.hourangle, u.deg))
            bjd = Time(t.mid_bjd_tdb, format="jd", scale="tdb")
            earth = get_body_barycentric("earth", bjd).xyz  # the light's path from the barycentre to the Earth
            delay = (earth * star.cartesian.xyz).sum() / c
            utc = (bjd - delay).utc
            shown = dt.datetime.fromisoformat(t.mid_utc)
            late = (utc.to_datetime(timezone=dt.UTC) - shown).total_seconds()
            assert -1 < late < 61  # shown to the minute (cut, not rounded), within a second of astropy
