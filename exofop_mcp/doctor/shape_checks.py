"""``name_shapes`` and ``login_answer``: how the site answers where its behaviour is not documented.

The tools accept every shape seen so far (a name matching several stars answered with a list, one
string or a comma-separated string; gototicid accepting or refusing a TIC-form target; a login landing
on ``/tess/index.php``, on ``/tess/`` or on a 200 page), so these checks pass whichever they see: they
report which, in :attr:`DoctorReport.shapes <exofop_mcp.doctor.report.DoctorReport.shapes>` and the text
report, so one paste tells where the real site stands.  A shape the tools would not understand warns.

The login is tried only when asked (``--try-login``), with credentials from ``--credential-file`` or
``EXOFOP_USERNAME`` / ``EXOFOP_PASSWORD``: the doctor never asks for a password.  The session it opens
is not stored, and is logged out at once.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Mapping
from typing import Any

import httpx

from exofop_mcp.auth.credentials import resolve_credentials
from exofop_mcp.auth.login import landing_shape, login_once_answer
from exofop_mcp.auth.session_store import active_username, load_sessions
from exofop_mcp.doctor.probe import SITE_CHANGED_HINT
from exofop_mcp.doctor.report import Draft, Stop
from exofop_mcp.doctor.site_checks import SiteChecks
from exofop_mcp.errors import ExofopMcpError, LoginFailedError
from exofop_mcp.settings import Settings
from exofop_mcp.site.client import TransientFailure
from exofop_mcp.site.resolver import NAME_RESOLVER_PAGE, tic_list
from exofop_mcp.site.responses import SNIFF_BYTES, describe_bytes

LOGOUT_PAGE = "logout.php"


class ShapeChecks:
    """The checks that report shapes; what they see goes to ``site.shapes``."""

    def __init__(self, site: SiteChecks) -> None:
        self.site = site
        self.options = site.options

    # -- name_shapes -----------------------------------------------------------------------------------

    async def name_shapes(self, draft: Draft) -> str:
        site = self.site
        multi = await self._multi_match(draft)
        site.shapes["name_multi_match"] = multi
        if site.tic is None:
            accepts = "not_asked: the star's TIC is unknown (the TOI table and name resolver failed)"
        else:
            accepts = await self._tic_form(draft, site.tic)
        site.shapes["name_accepts_tic"] = accepts
        draft.details.append(f"several matches ({self.options.multi_target!r}): {multi}")
        draft.details.append(f"a TIC-form target: {accepts}")
        return f"several matches: {multi.split(':', 1)[0]}; TIC-form target: {accepts.split(':', 1)[0]}"

    async def _ask(self, draft: Draft, target: str) -> httpx.Response | str:
        """gototicid's JSON answer for ``target``, or why there was none (this check never fails on it)."""
        try:
            return await self.site.get(draft, NAME_RESOLVER_PAGE, {"target": target, "json": ""})
        except Stop as stop:
            return stop.got or stop.summary

    async def _multi_match(self, draft: Draft) -> str:
        target = self.options.multi_target
        response = await self._ask(draft, target)
        if isinstance(response, str):
            draft.warnings.append(f"gototicid gave no answer for {target!r} ({response})")
            return f"unknown: no answer ({response})"
        try:
            answer: Any = json.loads(response.text)
        except ValueError:
            body = response.content
            if b"<table" in body.lower() and b"TIC" in body:
                tics = sorted(set(_html_tics(response.text)))
                draft.warnings.append(
                    f"gototicid answered the JSON request for {target!r} with an HTML table of candidates; the "
                    "tools expect JSON there and will report an unexpected response"
                )
                draft.hint = SITE_CHANGED_HINT
                return f"html_table: an HTML table of {len(tics)} candidate(s) instead of JSON"
            draft.warnings.append(f"gototicid did not answer JSON for {target!r}")
            return f"not_json: HTTP {response.status_code}, {describe_bytes(body[:SNIFF_BYTES])}"
        if not isinstance(answer, dict):
            return f"other: {json.dumps(answer)[:120]}"
        num, raw = answer.get("num"), answer.get("TIC")
        if str(answer.get("status", "")).upper() != "OK" or not isinstance(num, int) or num <= 1:
            said = json.dumps(answer)[:120]
            return f"not_seen: {target!r} did not match several stars ({said}); --multi-target NAME asks another"
        shown = json.dumps(raw)[:120]
        if isinstance(raw, list):
            return f"list: num {num}, TIC {shown}"
        if isinstance(raw, str) and "," in raw:
            return f"comma: num {num}, TIC {shown}"
        if isinstance(raw, str | int) and not isinstance(raw, bool) and tic_list_or_empty(raw):
            return f"string: num {num}, only one TIC {shown} (the others come from the HTML candidates)"
        draft.warnings.append(f"gototicid's TIC for several matches is {shown}, which the tools cannot read")
        return f"other: num {num}, TIC {shown}"

    async def _tic_form(self, draft: Draft, tic: int) -> str:
        response = await self._ask(draft, f"TIC {tic}")
        if isinstance(response, str):
            return f"unknown: no answer ({response})"
        try:
            answer: Any = json.loads(response.text)
        except ValueError:
            return f"not_json: HTTP {response.status_code}, {describe_bytes(response.content[:SNIFF_BYTES])}"
        said = json.dumps(answer)[:120]
        if isinstance(answer, dict) and str(answer.get("status", "")).upper() == "OK":
            if tic in tic_list_or_empty(answer.get("TIC")):
                return f"accepted: 'TIC {tic}' gives {said}"
            return f"other_star: 'TIC {tic}' gives {said}"
        return f"refused: 'TIC {tic}' gives {said} (the tools then check the star's stellar-parameters page)"

    # -- login_answer ----------------------------------------------------------------------------------

    async def login_answer(self, draft: Draft) -> str:
        site = self.site
        if not self.options.try_login:
            recorded = recorded_landing(site.client.settings, site.environ)
            if recorded is not None:
                shape, when = recorded
                site.shapes["login_answer"] = shape
                draft.details.append(f"recorded by `exofop-mcp login` at {when}; --try-login logs in again to see")
                return f"the last login on this site landed: {shape.split(':', 1)[0]} ({shape.split(': ', 1)[-1]})"
            raise Stop(
                "SKIP",
                "not asked (add --try-login to log in once with --credential-file or EXOFOP_USERNAME and "
                "EXOFOP_PASSWORD and see where the site lands; the doctor never asks for a password)",
            )
        try:
            credentials = resolve_credentials(
                credential_file=self.options.credential_file, environ=site.environ, interactive=False
            )
        except ExofopMcpError as exc:
            raise Stop("SKIP", f"asked to try a login, but no credentials: {exc.message}", hint=exc.hint) from None
        client = site.client
        draft.url = client.url("password_check.php")
        draft.doing = "logging in"
        try:
            session, answer = await client.retrying("login", lambda _attempt: login_once_answer(client, credentials))
        except LoginFailedError:
            site.shapes["login_answer"] = "rejected: 'Invalid username or password'"
            raise Stop(
                "FAIL",
                f"ExoFOP rejected the login for {credentials.username}: Invalid username or password",
                hint="Check the username and password given to the doctor.",
            ) from None
        except TransientFailure as failure:
            raise Stop("FAIL", f"the login got no answer: {failure.reason}") from None
        except ExofopMcpError as exc:
            site.shapes["login_answer"] = f"unconfirmed: {exc.message}"
            raise Stop("WARN", f"the login was not confirmed: {exc.message}", hint=exc.hint) from None
        shape = landing_shape(answer)
        site.shapes["login_answer"] = shape
        draft.details.append(f"the password check answered: {shape}")
        draft.details.append("the session opened for this check was not stored, and was logged out")
        with contextlib.suppress(ExofopMcpError):
            await client.fetch(LOGOUT_PAGE, cookies={session.cookie_name: session.cookie_value})
        return f"a login as {credentials.username} lands: {shape.split(':', 1)[0]} ({shape.split(': ', 1)[-1]})"


def tic_list_or_empty(value: Any) -> list[int]:
    try:
        return tic_list(value)
    except ExofopMcpError:
        return []


def _html_tics(text: str) -> list[int]:
    return [int(m) for m in re.findall(r"TIC\s*(\d{1,10})", text)]


def recorded_landing(settings: Settings, environ: Mapping[str, str]) -> tuple[str, str] | None:
    """Where the newest stored login on the configured site landed, and when (``None`` if not recorded)."""
    data = load_sessions(settings.config_dir)
    user = active_username(data, environ=environ, origin=settings.origin)
    recorded = [s for s in data.sessions_of(user, settings.origin) if s.landing]
    if not recorded:
        return None
    newest = max(recorded, key=lambda s: s.created)
    assert newest.landing is not None
    return newest.landing, newest.created.strftime("%Y-%m-%d %H:%M UTC")
