"""Soak: over 300 tag downloads across ten systems, under 10 % transient faults on the archive page.

Three passes over every tag of the ten soak systems (103 tags of all three kinds): fetched by
kind through the Python API, then fetched again with ``overwrite`` through the MCP tools (jobs
polled with ``download_status``), then again with ``keep_zip``, each pass with other archive
sizes (8 KiB to 1 MiB).  After each pass the reports, the manifests, the files on disk and the
replica's own request log must agree exactly.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import replace
from typing import Any

import pytest
from mcp import Client

from exofop_mcp.api import Exofop
from exofop_mcp.mcp_server.server import build_server
from exofop_mcp.replica import dataset
from tests.helpers.sandbox_checks import (
    ARCHIVE_PAGE,
    archive_requests,
    assert_extracted_match_archive,
    assert_result_matches_entry,
    assert_sandbox_consistent,
    tree_snapshot,
)
from tests.helpers.tool_client import text_of

# the soak: hundreds of downloads; CI runs it, the fast loop (-m "not slow") does not
pytestmark = [pytest.mark.anyio, pytest.mark.slow]

KiB = 1024
SIZES = (8 * KiB, 24 * KiB, 96 * KiB, 256 * KiB, 640 * KiB, 1024 * KiB)
KINDS = {"tseries": "time_series", "spect": "spectroscopy", "imaging": "imaging"}
FAULTS: dict[str, Any] = {
    "error_rate": 0.1,
    "fault_kinds": ("5xx", "429", "reset", "truncate"),
    "retry_after": 0,
    "fault_paths": (ARCHIVE_PAGE,),
    "seed": 1130,
}
MAX_RETRIES = 4
HONEST_FAILURES = {"failed", "timed_out"}


def soak_tags(replica) -> dict[int, dict[int, str]]:
    """Every tag of each soak system, with the kind of the table that lists it."""
    return {
        tic: {info.tag: KINDS[info.kind] for info in replica.dataset.tags_of(tic)} for tic in dataset.SOAK_SYSTEM_TICS
    }


def new_sizes(tags: list[int], rng: random.Random, previous: dict[int, int] | None = None) -> dict[int, int]:
    """A size per tag, different from its previous one (so an overwrite must change the data)."""
    return {t: rng.choice([s for s in SIZES if not previous or s != previous[t]]) for t in tags}


def check_pass(
    results: dict[int, dict[str, Any]],
    expected: dict[int, str],
    requests: dict[int, list[Any]],
) -> list[int]:
    """One pass's results (by tag) against the replica's log; returns the tags that honestly failed."""
    assert set(results) == set(expected)
    failed = []
    for tag, result in results.items():
        assert result["kind"] == expected[tag]
        sent = requests.get(tag, [])
        # every attempt the report counts is a request the site saw, and no request went unreported
        assert len(sent) == result["attempts"], (tag, result, [(r.status, r.fault) for r in sent])
        if result["status"] == "downloaded":
            last = sent[-1]
            assert last.status == 200 and last.fault is None and last.completed
            assert last.bytes_sent == result["bytes"] and len(result["sha256"]) == 64
            assert all(r.fault or not r.completed or r.status != 200 for r in sent[:-1])
        else:
            assert result["status"] in HONEST_FAILURES, result
            assert result["attempts"] == MAX_RETRIES + 1 and "again" in result["message"]
            assert all(r.fault for r in sent)
            failed.append(tag)
    return failed


async def test_soak_300_downloads_with_transient_faults(warm_settings, replica, tmp_path):
    settings = replace(warm_settings, max_retries=MAX_RETRIES, retry_base_delay=0.01, concurrency=6)
    systems = soak_tags(replica)
    every_tag = [t for tags in systems.values() for t in tags]
    assert len(every_tag) == len(set(every_tag)) and 3 * len(every_tag) >= 300
    rng = random.Random(46)
    outside = tree_snapshot(tmp_path)
    outside = {k: v for k, v in outside.items() if not k.startswith("data")}
    attempted = 0
    failures: list[int] = []
    sha_by_pass: list[dict[int, str]] = []

    async with Exofop(settings) as exofop:
        names = {tic: (await exofop.resolve_system(f"TIC {tic}", other_names=False)).canonical_name for tic in systems}
        replica.configure(**FAULTS)

        # Pass 1: by kind, all thirty (system, kind) calls at once.
        sizes = new_sizes(every_tag, rng)
        replica.configure(tag_sizes=sizes)
        started = time.time()
        calls = [(tic, kind) for tic in systems for kind in sorted(set(systems[tic].values()))]
        reports = await asyncio.gather(*(exofop.download_tags(names[tic], kind=kind) for tic, kind in calls))
        results: dict[int, dict[int, dict[str, Any]]] = {tic: {} for tic in systems}
        for (tic, _), report in zip(calls, reports, strict=True):
            assert report.state == "completed" and report.system == names[tic]
            results[tic].update({r.tag: r.model_dump() for r in report.results})
        log = archive_requests(replica.requests, started)
        for tic in systems:
            failures += check_pass(results[tic], systems[tic], log)
        attempted += sum(len(r) for r in results.values())
        manifests = assert_sandbox_consistent(settings.data_dir)
        for tic, by_tag in results.items():
            for tag, result in by_tag.items():
                if result["status"] == "downloaded":
                    assert_result_matches_entry(result, manifests[names[tic]].tags[str(tag)])
        sha_by_pass.append({t: r["sha256"] for by_tag in results.values() for t, r in by_tag.items()})
        bytes_seen = [r["bytes"] for by_tag in results.values() for r in by_tag.values() if r["bytes"]]
        assert min(bytes_seen) < 16 * KiB and max(bytes_seen) > 900 * KiB  # the sizes really were mixed

    # Pass 2: overwrite everything through the MCP tools, ten jobs running at once, polled.
    sizes = new_sizes(every_tag, rng, sizes)
    replica.configure(tag_sizes=sizes)
    started = time.time()
    async with Client(build_server(settings)) as client:
        jobs = {}
        for tic in systems:
            args = {"system": names[tic], "tags": list(systems[tic]), "overwrite": True, "wait_seconds": 0}
            first = await client.call_tool("download_tags", args)
            assert not first.is_error, text_of(first)
            jobs[tic] = first.structured_content
        for tic, report in jobs.items():
            while report["state"] == "running":
                polled = await client.call_tool("download_status", {"job_id": report["job_id"], "wait_seconds": 20})
                assert not polled.is_error, text_of(polled)
                report = polled.structured_content
            assert report["state"] == "completed"
            assert report["tags_done"] == report["tags_total"] == len(systems[tic])
            assert sum(report["totals"].values()) == len(systems[tic])
            results[tic] = {r["tag"]: r for r in report["results"]}
        inventory = (await client.call_tool("list_downloads", {})).structured_content
    log = archive_requests(replica.requests, started)
    for tic in systems:
        failures += check_pass(results[tic], systems[tic], log)
    attempted += sum(len(r) for r in results.values())
    manifests = assert_sandbox_consistent(settings.data_dir)
    changed = 0
    for tic, by_tag in results.items():
        for tag, result in by_tag.items():
            if result["status"] == "downloaded":
                assert_result_matches_entry(result, manifests[names[tic]].tags[str(tag)])
                changed += result["sha256"] != sha_by_pass[0][tag]
    # overwritten with new data (archives smaller than a tag's natural size come out the same)
    assert changed > len(every_tag) // 2
    sha_by_pass.append({t: r.get("sha256") for by_tag in results.values() for t, r in by_tag.items()})
    listed = {s["system"]: s for s in inventory["systems"]}
    assert set(listed) == set(names.values())
    for tic, name in names.items():
        complete = sum(1 for e in manifests[name].tags.values() if e.status == "downloaded")
        assert listed[name]["tags_complete"] == complete and listed[name]["tags_recorded"] == len(systems[tic])

    # Pass 3: overwrite again keeping the archives; every extracted file is checked against its archive.
    sizes = new_sizes(every_tag, rng, sizes)
    replica.configure(tag_sizes=sizes)
    started = time.time()
    async with Exofop(settings) as exofop:
        again = {"overwrite": True, "keep_zip": True}
        reports = await asyncio.gather(
            *(exofop.download_tags(names[tic], tags=list(systems[tic]), **again) for tic in systems)
        )
    for tic, report in zip(systems, reports, strict=True):
        assert report.state == "completed"
        results[tic] = {r.tag: r.model_dump() for r in report.results}
    log = archive_requests(replica.requests, started)
    for tic in systems:
        failures += check_pass(results[tic], systems[tic], log)
    attempted += sum(len(r) for r in results.values())
    manifests = assert_sandbox_consistent(settings.data_dir)

    # The final state: every tag of every system recorded once, complete, matching its last good download.
    for tic, name in names.items():
        manifest = manifests[name]
        assert sorted(manifest.tags) == sorted(str(t) for t in systems[tic])
        system_dir = settings.data_dir.resolve() / name
        for tag, result in results[tic].items():
            entry = manifest.tags[str(tag)]
            if result["status"] == "downloaded":
                assert_result_matches_entry(result, entry)
                assert_extracted_match_archive(system_dir, entry)
            else:  # a failed re-fetch never forgets a good earlier download
                assert entry.status == "downloaded" or entry.message == result["message"]
        assert {p.name for p in (system_dir / "tables").iterdir()} == {f"{k}.csv" for k in set(systems[tic].values())}

    faults = [r for r in replica.requests if r.path.endswith(ARCHIVE_PAGE) and r.fault]
    assert attempted >= 300
    assert len(faults) >= 15, "the faults were not injected"
    assert {f.fault for f in faults} == set(FAULTS["fault_kinds"])
    assert len(failures) <= 3, f"too many tags failed after {MAX_RETRIES} retries: {failures}"
    # nothing was written outside the sandbox (the warm catalog cache and the config stay as they were)
    after = {k: v for k, v in tree_snapshot(tmp_path).items() if not k.startswith("data")}
    assert after == outside
