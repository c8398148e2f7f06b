"""Control endpoints for a replica running in another process.

``GET /_replica/health``, ``GET /_replica/requests`` (JSON list of request records),
``POST /_replica/reset`` (forget recorded requests), ``POST /_replica/config`` (JSON object of
ReplicaConfig fields to change; answers the new settings, passwords left out).
"""

from __future__ import annotations

import json
import time
from typing import Any

from pydantic import ValidationError

from exofop_mcp.replica.http_server import Request, Response
from exofop_mcp.replica.state import ReplicaState

PREFIX = "/_replica/"
FIXED_SETTINGS = ("host", "port")


def _json(payload: Any, status: int = 200) -> Response:
    body = json.dumps(payload).encode("utf-8")
    return Response(status, [("Content-Type", "application/json"), ("Cache-Control", "no-store")], body)


def handle(state: ReplicaState, request: Request) -> Response:
    action = request.path.removeprefix(PREFIX).strip("/")
    if action == "health":
        return _json({"status": "ok", "uptime": time.time() - state.started, "requests": len(state.log.snapshot())})
    if action == "requests" and request.method in ("GET", "HEAD"):
        return _json([record.to_dict() for record in state.log.snapshot()])
    if action == "reset" and request.method == "POST":
        state.log.clear()
        return _json({"status": "ok"})
    if action == "config":
        if request.method == "GET":
            return _json(state.config.public_view())
        if request.method == "POST":
            return _update_config(state, request)
    return _json({"status": "error", "message": f"unknown control request {request.method} {request.path}"}, 404)


def _update_config(state: ReplicaState, request: Request) -> Response:
    try:
        changes = json.loads(request.body or b"{}")
    except json.JSONDecodeError as exc:
        return _json({"status": "error", "message": f"body is not JSON: {exc}"}, 400)
    if not isinstance(changes, dict):
        return _json({"status": "error", "message": "body must be a JSON object"}, 400)
    fixed = [name for name in FIXED_SETTINGS if name in changes]
    if fixed:
        return _json({"status": "error", "message": f"cannot change {', '.join(fixed)} while running"}, 400)
    try:
        config = state.configure(**changes)
    except (ValidationError, ValueError) as exc:
        return _json({"status": "error", "message": str(exc)}, 400)
    return _json(config.public_view())
