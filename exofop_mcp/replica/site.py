"""The request pipeline around the pages: session locking, fault injection, latency, bandwidth and
the request log.  Control endpoints (``/_replica/...``) bypass all of it."""

from __future__ import annotations

import logging
import time

from exofop_mcp.replica import control, routes
from exofop_mcp.replica.accounts import SESSION_COOKIE
from exofop_mcp.replica.faults import Fault
from exofop_mcp.replica.http_server import Delivery, Request, Response, ResponseChannel
from exofop_mcp.replica.pages import error_page
from exofop_mcp.replica.request_log import RequestRecord
from exofop_mcp.replica.routes import PageContext
from exofop_mcp.replica.state import ReplicaState

log = logging.getLogger("exofop_mcp.replica")


def _tag_of(request: Request) -> int | None:
    text = request.query.get("tag", "")
    return int(text) if text.isdigit() else None


def fault_response(fault: Fault, retry_after: int) -> Response:
    if fault.kind == "empty":  # the real site under load: 200 and not one byte
        return Response(200, [("Content-Type", "text/html; charset=UTF-8")], b"")
    status = fault.status or 500
    headers = [("Content-Type", "text/html; charset=iso-8859-1")]
    if status == 429:
        headers.append(("Retry-After", str(retry_after)))
    return Response(status, headers, error_page(status))


class ExofopSite:
    def __init__(self, state: ReplicaState) -> None:
        self.state = state

    async def __call__(self, request: Request, channel: ResponseChannel) -> None:
        if request.path.startswith(control.PREFIX):
            await channel.send(control.handle(self.state, request))
            return
        received = time.time()
        sid = request.cookies.get(SESSION_COOKIE) or None
        locking = self.state.config.session_locking
        async with self.state.session_locks.hold(sid if locking else None):
            await self._serve(request, channel, sid, received)

    async def _serve(self, request: Request, channel: ResponseChannel, sid: str | None, received: float) -> None:
        config = self.state.config
        start = time.time()
        fault = self.state.faults.decide(config, request.path, _tag_of(request))
        context = PageContext(request, self.state, sid, corrupt=fault is not None and fault.kind == "corrupt")
        if fault is not None and fault.status is not None:
            response = fault_response(fault, config.retry_after)
        else:
            response = await routes.dispatch(context)
        channel.on_finish = lambda delivery: self._record(request, response, context, fault, received, start, delivery)
        # The latency is the time to the headers from here: building the answer (a page, an archive
        # opened) is inside it, not added to it.
        await channel.send(
            response,
            latency=max(0.0, config.latency - (time.time() - start)),
            bandwidth=config.bandwidth,
            fault=fault.wire if fault is not None else None,
        )

    def _record(
        self,
        request: Request,
        response: Response,
        context: PageContext,
        fault: Fault | None,
        received: float,
        start: float,
        delivery: Delivery,
    ) -> None:
        end = time.time()
        self.state.log.add(
            RequestRecord(
                method=request.method,
                path=request.path,
                query=dict(request.query),
                status=response.status,
                bytes_sent=delivery.bytes_sent,
                session=context.sid,
                user=context.user,
                received=received,
                start=start,
                end=end,
                fault=fault.kind if fault is not None else None,
                completed=delivery.completed,
            )
        )
        log.debug(
            "%s %s -> %d (%d bytes%s)",
            request.method,
            request.target,
            response.status,
            delivery.bytes_sent,
            f", fault {fault.kind}" if fault else "",
        )
