"""A Content-Type that claims the wrong charset: names arrive intact through the tools (real sockets)."""

from __future__ import annotations

import httpx
import pytest

from tests.helpers.tool_client import call, ok, text_of

pytestmark = pytest.mark.anyio

NAMES = ("müller", "ségransan")  # observers of TOI-1130 in the replica (time series, spectroscopy)


async def test_names_arrive_intact_whatever_charset_the_header_claims(warm_settings, replica):
    replica.configure(page_charset="iso-8859-1")
    async with httpx.AsyncClient(base_url=replica.base_url) as raw:
        answer = await raw.get("/tess/download_spect.php", params={"target": 254113311, "output": "pipe"})
    assert answer.headers["content-type"] == "text/plain; charset=iso-8859-1"
    assert "ségransan".encode() in answer.content  # the body is UTF-8...
    assert "sÃ©gransan" in answer.text  # ...which a client trusting the header would garble

    for name, kind in zip(NAMES, ("time_series", "spectroscopy"), strict=True):
        args = {"system": "TOI-1130", "kind": kind, "user": name, "limit": 5}
        page = await ok(warm_settings, "list_observations", args)
        assert page["total"] >= 1, name
        assert {row["user"] for row in page["rows"]} == {name}
        text = text_of(await call(warm_settings, "list_observations", args))
        assert name in text and "Ã" not in text
