"""The HTTP stack's one-time set-up: one TLS context per process, paid early when asked."""

from __future__ import annotations

import subprocess
import sys

import pytest

from exofop_mcp.api import Exofop
from exofop_mcp.site import http_stack
from exofop_mcp.site.client import ExofopClient

pytestmark = pytest.mark.anyio


async def test_every_pool_of_the_process_shares_one_tls_context_that_checks_certificates(warm_settings):
    first, second = ExofopClient(warm_settings), ExofopClient(warm_settings)
    try:
        first.prepare()
        second.prepare()
        contexts = {id(client._pool._transport._pool._ssl_context) for client in (first, second)}  # type: ignore[attr-defined]
    finally:
        await first.aclose()
        await second.aclose()
    context = http_stack.tls_context()
    assert contexts == {id(context)}
    assert context.check_hostname and context.verify_mode.name == "CERT_REQUIRED"


def in_a_fresh_interpreter(*lines: str) -> str:
    """What ``lines`` print in a new Python process (``h`` is the http_stack module)."""
    code = "; ".join(("import sys", "from exofop_mcp.site import http_stack as h", *lines))
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()


def test_warming_up_loads_the_network_backend_a_first_connection_needs():
    out = in_a_fresh_interpreter(
        "before = [m for m in h.BACKEND_MODULES if m in sys.modules]",
        "h.warm_up()",
        "print(before, all(m in sys.modules for m in h.BACKEND_MODULES))",
    )
    assert out == "[] True"  # not loaded before, all loaded after


def test_the_background_warm_up_starts_one_thread_per_process():
    out = in_a_fresh_interpreter(
        "calls = []",
        "real = h.warm_up",
        "h.warm_up = lambda: (calls.append(1), real())",
        "h.start_warm_up()",
        "h.start_warm_up()",
        "h._warming.join(30)",
        "print(len(calls), h._context is not None, h._warming.daemon)",
    )
    assert out == "1 True True"


async def test_a_warmed_up_client_answers_like_any_other(warm_settings, replica):
    async with Exofop(warm_settings) as exofop:
        await exofop.warm_up()
        page = await exofop.list_observations("TOI-1130", kind="time_series", limit=1)
    assert page.total > 0
