"""The HTTP stack's one-time costs of a process, paid once and, where the process lives long, early.

The first request a process sends pays for more than the request: building a TLS context reads the
CA bundle (~50 ms), and httpcore loads its async network backend (anyio's modules, ~40-70 ms) at its
first connection.  Every connection pool of the process shares the one TLS context made here
(:func:`tls_context`), and :func:`warm_up` pays both costs at once.  A long-lived process (the MCP
server) calls :func:`start_warm_up` when it starts, so that its first listing or download measures
the site rather than this machine; a script may call :meth:`exofop_mcp.api.Exofop.warm_up`.
"""

from __future__ import annotations

import contextlib
import importlib
import ssl
import threading

import httpx

#: The modules httpcore imports at its first connection on asyncio (a list: nothing else names them).
BACKEND_MODULES = ("httpcore._backends.anyio", "anyio._backends._asyncio", "anyio.streams.tls", "anyio.to_thread")

_lock = threading.Lock()
_context: ssl.SSLContext | None = None
_warming: threading.Thread | None = None


def tls_context() -> ssl.SSLContext:
    """The process's one TLS context (certificate checks on; ``SSL_CERT_FILE``/``SSL_CERT_DIR`` honoured),
    built at first use.  Thread-safe: a caller that arrives while another thread builds it waits for it."""
    global _context
    with _lock:
        if _context is None:
            _context = httpx.create_ssl_context()
        return _context


def warm_up() -> None:
    """Pay the HTTP stack's one-time costs now: the TLS context and httpcore's network backend."""
    tls_context()
    for name in BACKEND_MODULES:
        importlib.import_module(name)


def start_warm_up() -> None:
    """Run :func:`warm_up` in a background thread, once per process (later calls do nothing)."""
    global _warming
    with _lock:
        if _warming is not None:
            return
        _warming = threading.Thread(target=_warm_up_quietly, name="exofop-http-warm-up", daemon=True)
    _warming.start()


def _warm_up_quietly() -> None:
    # Whatever fails here fails again at the first request, which reports it.
    with contextlib.suppress(Exception):
        warm_up()
