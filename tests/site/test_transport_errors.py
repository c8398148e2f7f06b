"""Why a request got no answer, told precisely: the one describer the client, the login, the transfer and the
doctor share."""

from __future__ import annotations

import socket
import ssl

import httpx

from exofop_mcp.site.transport_errors import describe_transport_error, failure_kind


def test_transport_errors_are_named_precisely() -> None:
    def chained(outer: Exception, inner: BaseException) -> Exception:
        outer.__cause__ = inner
        return outer

    url = "https://exofop.example.org/tess/"
    cases: list[tuple[Exception, str]] = [
        (
            chained(
                httpx.ConnectError("[Errno -2] Name or service not known"),
                socket.gaierror(-2, "Name or service not known"),
            ),
            "DNS lookup failed: the name 'exofop.example.org' could not be resolved",
        ),
        (
            chained(httpx.ConnectError("All connection attempts failed"), ConnectionRefusedError(111, "refused")),
            "connection refused by exofop.example.org:443",
        ),
        (
            chained(httpx.ConnectError("certificate verify failed"), ssl.SSLCertVerificationError(1, "verify failed")),
            "TLS certificate verification failed for exofop.example.org",
        ),
        (
            httpx.ConnectTimeout("timed out"),
            "timed out connecting to exofop.example.org:443 (no connection within 5 s)",
        ),
        (httpx.ReadTimeout("timed out"), "connected to exofop.example.org:443, but no answer within 7 s"),
        (httpx.ConnectError("[Errno -3] Temporary failure in name resolution"), "DNS lookup failed"),
    ]
    for exc, expected in cases:
        assert expected in describe_transport_error(exc, url, connect_timeout=5, read_timeout=7), expected


def test_failure_kinds_in_a_few_words() -> None:
    assert failure_kind(httpx.ReadTimeout("timed out")) == "timed out"
    assert failure_kind(httpx.ConnectError("refused")) == "could not connect"
    assert failure_kind(httpx.RemoteProtocolError("eh")) == "lost the connection (RemoteProtocolError)"
