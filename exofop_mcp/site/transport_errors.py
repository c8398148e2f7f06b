"""Why a request to ExoFOP got no answer, told once for every caller.

:func:`describe_transport_error` names the cause precisely (DNS, refused
connection, TLS, connect or read timeout, proxy, reset); :func:`failure_kind`
says it in two or three words.  The client builds its
:class:`ExofopUnreachableError` from both, and the login, the archive transfer
and ``exofop-mcp doctor`` use the same wording.
"""

from __future__ import annotations

import errno
import socket
import ssl

import httpx

from exofop_mcp.errors import ExofopUnreachableError

__all__ = ["ExofopUnreachableError", "describe_transport_error", "failure_kind"]


def failure_kind(exc: BaseException) -> str:
    """What went wrong on the wire, in a few words: 'timed out', 'could not connect', ..."""
    if isinstance(exc, httpx.TimeoutException):
        return "timed out"
    if isinstance(exc, httpx.ConnectError):
        return "could not connect"
    return f"lost the connection ({type(exc).__name__})"


def _exception_chain(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    todo: list[BaseException] = [exc]
    while todo and len(chain) < 20:
        current = todo.pop(0)
        if any(current is seen for seen in chain):
            continue
        chain.append(current)
        for nested in (current.__cause__, current.__context__):
            if nested is not None:
                todo.append(nested)
        for inner in getattr(current, "exceptions", ()) or ():  # ExceptionGroup
            if isinstance(inner, BaseException):
                todo.append(inner)
    return chain


_DNS_TEXT = (
    "name or service not known",
    "nodename nor servname",
    "getaddrinfo failed",
    "temporary failure in name resolution",
    "no address associated with hostname",
    "name resolution",
)


def describe_transport_error(
    exc: BaseException, url: str | httpx.URL, *, connect_timeout: float, read_timeout: float
) -> str:
    """A precise, one-line account of why a request got no answer (DNS, refused, TLS, timeout...)."""
    parsed = httpx.URL(str(url))
    host = parsed.host or "?"
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    where = f"{host}:{port}"
    chain = _exception_chain(exc)
    for e in chain:
        if isinstance(e, socket.gaierror):
            return f"DNS lookup failed: the name {host!r} could not be resolved ({e.strerror or e})"
    for e in chain:
        if isinstance(e, ConnectionRefusedError):
            return f"connection refused by {where} (nothing is listening there)"
    for e in chain:
        if isinstance(e, ssl.SSLCertVerificationError):
            why = getattr(e, "verify_message", None) or getattr(e, "reason", None) or str(e)
            return f"TLS certificate verification failed for {host}: {why}"
    for e in chain:
        if isinstance(e, ssl.SSLError):
            reason = getattr(e, "reason", None) or str(e)
            plain = "; the server does not seem to speak https on this port" if "VERSION" in str(reason) else ""
            return f"TLS handshake with {where} failed ({reason}){plain}"
    if isinstance(exc, httpx.ConnectTimeout):
        return f"timed out connecting to {where} (no connection within {connect_timeout:g} s)"
    if isinstance(exc, httpx.ReadTimeout):
        return f"connected to {where}, but no answer within {read_timeout:g} s (read timeout)"
    if isinstance(exc, httpx.WriteTimeout):
        return f"connected to {where}, but the request could not be sent within {read_timeout:g} s"
    if isinstance(exc, httpx.TimeoutException):
        return f"timed out talking to {where} ({type(exc).__name__})"
    if isinstance(exc, httpx.ProxyError):
        return f"the HTTP proxy failed ({exc}); check HTTPS_PROXY/HTTP_PROXY"
    for e in chain:
        if isinstance(e, OSError) and e.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH):
            return f"{where} is not reachable from this computer ({e.strerror})"
        if isinstance(e, ConnectionResetError):
            return f"{where} reset the connection"
    text = " ".join(str(e) for e in chain).lower()
    if any(marker in text for marker in _DNS_TEXT):
        return f"DNS lookup failed: the name {host!r} could not be resolved ({exc})"
    if "connection refused" in text:
        return f"connection refused by {where} (nothing is listening there)"
    if "certificate" in text:
        return f"TLS certificate verification failed for {host} ({exc})"
    if "ssl" in text or "tls" in text:
        return f"TLS handshake with {where} failed ({exc})"
    if "timed out" in text:
        return f"timed out talking to {where} ({exc})"
    if isinstance(exc, httpx.RemoteProtocolError):
        return f"{where} closed the connection or broke the HTTP protocol ({exc})"
    return f"{type(exc).__name__} talking to {where}: {exc}"
