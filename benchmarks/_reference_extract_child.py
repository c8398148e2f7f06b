"""Child process of bench_extract.py, run in the reference venv: the ``exofop`` library's ``extract``.

argv: the directory holding one folder per tag (``<system>/time_series``).  First the library's
documented whole-directory call (``LightCurveTableList.load_exofop_data``); then, to measure what it
can do at all, the same call tag by tag, each in its own ``try``.  Prints JSON reports.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
import warnings

from _common import peak_rss_kib  # the script's directory is on sys.path

warnings.filterwarnings("ignore")
logging.disable(logging.CRITICAL)
started = time.perf_counter()
from exofop.extract import LightCurveTableList  # noqa: E402

imported = time.perf_counter()


def _load(directory: str, names: list[str] | None) -> LightCurveTableList:
    tables = LightCurveTableList.load_exofop_data(target_dir=directory, observation_names=names)
    tables.standardise_column_names()
    tables.apply_time_correction_in_case_of_discrepancy()
    return tables


def _describe(table: object, info: dict[str, object]) -> dict[str, object]:
    columns = list(getattr(table, "colnames", []))
    time_values = getattr(table, "time", None)
    first = None
    if time_values is not None:
        try:
            first = float(time_values[0])
        except (TypeError, ValueError, IndexError):
            first = None
    return {
        "file": info.get("full_file_name"),
        "columns": columns,
        "first_time": first,
        "texp": info.get("texp"),
    }


directory = sys.argv[1]
begin = time.perf_counter()
try:
    whole = _load(directory, None)
    print(json.dumps({"event": "whole", "ok": True, "seconds": time.perf_counter() - begin, "count": len(whole)}))
except Exception as exc:  # the library's behaviour on one bad file is what is measured
    print(
        json.dumps(
            {
                "event": "whole",
                "ok": False,
                "seconds": time.perf_counter() - begin,
                "error": f"{type(exc).__name__}: {str(exc)[:120]}",
            }
        )
    )

begin, cpu = time.perf_counter(), time.process_time()
tags: list[dict[str, object]] = []
for tag in sorted(os.listdir(directory)):
    try:
        tables = _load(directory, [tag])
        infos = tables.info_df.to_dict("records") if len(tables) else []
        tags.append(
            {"tag": int(tag), "ok": True, "tables": [_describe(t, i) for t, i in zip(tables, infos, strict=False)]}
        )
    except Exception as exc:
        tags.append({"tag": int(tag), "ok": False, "error": f"{type(exc).__name__}: {str(exc)[:120]}"})
seconds, cpu = time.perf_counter() - begin, time.process_time() - cpu
print(
    json.dumps(
        {
            "event": "per_tag",
            "import_seconds": imported - started,
            "seconds": seconds,
            "cpu_seconds": cpu,
            "peak_rss_bytes": peak_rss_kib() * 1024,
            "tags": tags,
        }
    ),
    flush=True,
)
