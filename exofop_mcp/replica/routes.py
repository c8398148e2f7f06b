"""The ExoFOP pages under ``/tess/``, faithful to what the real site serves (see exofop-api.md)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import random
import zipfile
import zlib
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from exofop_mcp.replica import pages
from exofop_mcp.replica.accounts import check_password, session_cookie
from exofop_mcp.replica.broken_answers import broken_name_answer
from exofop_mcp.replica.dataset import COLUMNS, SPECIAL_TAGS, TagInfo
from exofop_mcp.replica.http_server import FileBody, Request, Response, StreamBody
from exofop_mcp.replica.star_tables import (
    CTOI_COLUMNS,
    FILELIST_COLUMNS,
    KIND_LABELS,
    NEARBY_COLUMNS,
    OBSNOTES_COLUMNS,
    PLANET_COLUMNS,
    STELLAR_COLUMNS,
    USER_TAGS_COLUMNS,
    nearby_rows,
    obsnote_rows,
    planet_rows,
    stellar_rows,
)
from exofop_mcp.replica.state import ReplicaState
from exofop_mcp.replica.tables import OUTPUT_FORMATS, pipe_lines_to, render
from exofop_mcp.replica.tag_archives import FILE_ID_STRIDE
from exofop_mcp.replica.tag_numbers import KINDS
from exofop_mcp.replica.target_json import shared_aliases, target_json
from exofop_mcp.replica.untidy_text import break_rows, break_table_lines, untidy

TEXT = "text/plain; charset=UTF-8"
HTML = "text/html; charset=UTF-8"
POWERED_BY = ("X-Powered-By", "PHP/7.4.33")
RENAMED_TOI_COLUMNS = {"TIC ID": "TIC", "TOI": "TOI Number", "Period (days)": "Orbital Period (days)"}


@dataclass
class PageContext:
    request: Request
    state: ReplicaState
    sid: str | None
    corrupt: bool = False
    user: str | None = field(default=None)
    set_cookies: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.user = self.state.sessions.user_of(self.sid)

    def param(self, name: str, default: str = "") -> str:
        return self.request.query.get(name, default).strip()

    def output(self, default: str = "text") -> str:
        value = self.param("output", default).lower()
        if value == "bar":  # the real site takes output=bar for pipe
            return "pipe"
        return value if value in OUTPUT_FORMATS else default


def html(body: bytes, status: int = 200, headers: list[tuple[str, str]] | None = None) -> Response:
    return Response(status, [("Content-Type", HTML), POWERED_BY, *(headers or [])], body)


def text_table(body: bytes, output: str) -> Response:
    content_type = "text/csv; charset=UTF-8" if output == "csv" else TEXT
    return Response(200, [("Content-Type", content_type), POWERED_BY], body)


def redirect(location: str, extra: list[tuple[str, str]] | None = None) -> Response:
    return Response(302, [("Location", location), ("Content-Type", HTML), POWERED_BY, *(extra or [])], b"")


# --- TOI table, names -------------------------------------------------------------------------------------
async def download_toi(ctx: PageContext) -> Response:
    table = ctx.state.dataset.table
    quirk = ctx.state.config.toi_table_quirk
    if quirk == "html":
        return html(pages.maintenance_page())
    if quirk == "redirect":
        return redirect("/tess/login.php?ref=" + quote(ctx.request.target, safe=""))
    if quirk == "garbage":
        rng = random.Random(ctx.state.config.seed)
        junk = "".join(rng.choice("abcdefghij klmnop\nqrstuvwxyz0123456789<>{};:") for _ in range(4096))
        return text_table(junk.encode("ascii"), "pipe")
    output = ctx.output()
    toi = ctx.param("toi")
    lines: list[bytes]
    if toi:
        lines = table.toi_lines(toi) if "." in toi else table.host_lines(int(toi) if toi.isdigit() else -1)
    elif output == "pipe" and quirk is None and not ctx.state.config.broken_free_text:
        return text_table(table.raw, output)
    else:
        lines = table.lines
    if ctx.state.config.broken_free_text:  # a switch: comments holding '|', raw newlines, HTML
        lines = break_table_lines(lines)
    if quirk == "renamed_columns":
        header = "|".join(RENAMED_TOI_COLUMNS.get(name, name) for name in table.header).encode("utf-8")
        lines = [header, *lines[1:]]
    return text_table(pipe_lines_to(output, lines), output)


async def download_ctoi(ctx: PageContext) -> Response:
    output = ctx.output()
    return text_table(render(CTOI_COLUMNS, [], output), output)


def _tic_form(target: str) -> bool:
    text = target.strip().upper().replace(" ", "").replace("_", "").replace("-", "")
    return text.removeprefix("TIC").isdigit()


def resolve_target(ctx: PageContext, target: str) -> list[int]:
    """TIC ids of a target as the site resolves it: TIC ids, TOIs, common names and catalogue designations
    (2MASS, Gaia DR2/DR3, TYC, UCAC4, WISE: the ``star_names`` of ``target.php?id=...&json``)."""
    return ctx.state.dataset.resolve(target) or shared_aliases(ctx.state.dataset).lookup(target)


async def gototicid(ctx: PageContext) -> Response:
    target = ctx.param("target")
    config = ctx.state.config
    if config.name_service_answer is not None and "json" in ctx.request.query:  # a switch: a broken answer
        return broken_name_answer(config.name_service_answer)
    tics = resolve_target(ctx, target) if target else []
    if not config.name_service_accepts_tic and _tic_form(target):  # a switch: TIC-form targets refused
        tics = []
    if "json" not in ctx.request.query:
        if len(tics) == 1:
            return redirect(f"/tess/target.php?id={tics[0]}")
        if len(tics) > 1:
            return html(pages.candidates_page(target, tics))
        return html(pages.not_found_page(f"/tess/gototicid.php?target={target}"), status=200)
    if not tics:
        payload: dict[str, object] = {"status": "ERROR", "message": "No object found."}
    elif len(tics) == 1:
        payload = {"status": "OK", "num": 1, "TIC": str(tics[0])}
        if ctx.state.config.name_service_tic is not None:  # a switch: an odd answer from the name service
            payload["TIC"] = ctx.state.config.name_service_tic
    else:
        # Assumption: the real site's answer for a name matching several stars is not documented
        # beyond "num > 1".  The replica returns the TIC ids as a JSON list of strings then.
        shape = config.name_multi_shape  # a switch: the real shape is not documented
        if shape == "html":
            return html(pages.candidates_page(target, tics))
        value: object = [str(tic) for tic in tics]
        if shape == "string":
            value = str(tics[0])
        elif shape == "comma":
            value = ",".join(str(tic) for tic in tics)
        payload = {"status": "OK", "num": len(tics), "TIC": value}
    body = json.dumps(payload, separators=(",", ":")).encode("utf-8")
    return Response(200, [("Content-Type", "application/json"), POWERED_BY], body)


# --- observation tables -------------------------------------------------------------------------------------
def _target_tics(ctx: PageContext, parameter: str = "target") -> list[int] | None:
    """TIC ids named by the parameter; None when the parameter is absent (whole-site table)."""
    target = ctx.param(parameter)
    if not target:
        return None
    return resolve_target(ctx, target)


def _observation_page(kind: str) -> Callable[[PageContext], Awaitable[Response]]:
    async def page(ctx: PageContext) -> Response:
        dataset = ctx.state.dataset
        tics = _target_tics(ctx)
        if tics is None:
            tics = dataset.curated_tics()
        rows: list[list[str]] = []
        for tic in tics:
            rows += dataset.observations(tic).rows(kind)
        unlisted = ctx.state.config.unlisted_tags  # a switch: tags the tables do not know
        if unlisted:
            column = COLUMNS[kind].index("Tag")
            rows = [row for row in rows if not (row[column].isdigit() and int(row[column]) in unlisted)]
        odd = ctx.state.config.odd_tags  # a switch: hand-edited rows whose tag is not a tag number
        if odd:
            column = COLUMNS[kind].index("Tag")
            rows = [list(row) for row in rows]
            for row, cell in zip(rows, odd, strict=False):
                row[column] = cell
        if ctx.state.config.broken_free_text:  # a switch: notes holding '|', raw newlines, HTML
            rows = break_rows(rows, COLUMNS[kind].index("Notes"))
        output = ctx.output()
        return text_table(render(COLUMNS[kind], rows, output), output)

    return page


def _star_table_page(
    columns: tuple[str, ...] | list[str], build: Callable[[ReplicaState, int], list[list[str]]]
) -> Callable[[PageContext], Awaitable[Response]]:
    async def page(ctx: PageContext) -> Response:
        tics = _target_tics(ctx, "id") or []
        rows: list[list[str]] = []
        for tic in tics[:1]:
            rows += build(ctx.state, tic)
        output = ctx.output()
        return text_table(render(columns, rows, output), output)

    return page


async def download_filelist(ctx: PageContext) -> Response:
    dataset = ctx.state.dataset
    tics = _target_tics(ctx, "id")
    if tics is None and ctx.param("toi"):
        tics = dataset.resolve(f"TOI{ctx.param('toi')}")
    rows: list[list[str]] = []
    for tic in (tics or [])[:1]:
        for info in dataset.tags_of(tic):
            rows += _file_rows(ctx.state, info)
    if ctx.state.config.broken_free_text:  # a switch: descriptions holding '|', raw newlines, HTML
        rows = break_rows(rows, FILELIST_COLUMNS.index("Description"))
    output = ctx.output("pipe")
    return text_table(render(FILELIST_COLUMNS, rows, output), output)


def _file_rows(state: ReplicaState, info: TagInfo) -> list[list[str]]:
    size = state.config.tag_sizes.get(info.tag, state.config.tag_size)
    uploaded = (info.date + dt.timedelta(days=2 + info.tag % 9)).isoformat()
    rows = []
    for number, entry in state.archives.files(info, size):
        rows.append(
            [
                entry.file_type,
                entry.name.rsplit("/", 1)[-1],
                str(number),
                str(info.tic),
                info.toi,
                uploaded,
                info.user,
                "tfopwg",
                str(info.tag),
                entry.description,
            ]
        )
    return rows


async def download_obsnotes(ctx: PageContext) -> Response:
    dataset = ctx.state.dataset
    tag_text = ctx.param("tag")
    rows: list[list[str]] = []
    if tag_text.isdigit():
        owner = dataset.tag_owner(int(tag_text))
        if owner is not None:
            rows = obsnote_rows(dataset, owner[0], int(tag_text))
    else:
        tics = _target_tics(ctx, "tid") or _target_tics(ctx, "id") or []
        for tic in tics[:1]:
            rows = obsnote_rows(dataset, tic)
    if ctx.state.config.broken_free_text:  # a switch: notes holding '|', raw newlines, HTML
        rows = break_rows(rows, OBSNOTES_COLUMNS.index("notes"))
    output = ctx.output("csv")
    return text_table(render(OBSNOTES_COLUMNS, rows, output), output)


def _tag_summary_page(kind: str) -> Callable[[PageContext], Awaitable[Response]]:
    async def page(ctx: PageContext) -> Response:
        tag_text = ctx.param("tag")
        rows: list[list[str]] = []
        if tag_text.isdigit() and int(tag_text) not in ctx.state.config.unlisted_tags:
            info = ctx.state.dataset.tag(int(tag_text))
            if info is not None and info.kind == kind:
                rows = [list(row) for row in info.rows]
        output = ctx.output()
        return text_table(render(COLUMNS[kind], rows, output), output)

    return page


async def download_user_tags(ctx: PageContext) -> Response:
    username = ctx.param("username").lower()
    if ctx.state.user_tags is None:
        ctx.state.user_tags = await asyncio.to_thread(_collect_user_tags, ctx.state)
    rows = ctx.state.user_tags.get(username, [])
    output = ctx.output()
    return text_table(render(USER_TAGS_COLUMNS, rows, output), output)


def _collect_user_tags(state: ReplicaState) -> dict[str, list[list[str]]]:
    dataset = state.dataset
    found: dict[str, dict[int, list[str]]] = {}
    for tic in dataset.table.stars:
        observations = dataset.observations(tic)
        for kind in KINDS:
            columns = COLUMNS[kind]
            for row in observations.rows(kind):
                tag = int(row[columns.index("Tag")])
                user = row[columns.index("User")]
                entry = found.setdefault(user, {}).get(tag)
                if entry is None:
                    entry = [
                        str(tag),
                        user,
                        "tfopwg",
                        row[columns.index("Obs Date")],
                        str(tic),
                        row[columns.index("TOI")].removeprefix("TOI "),
                        "0",
                        "0",
                        "0",
                        f"{KIND_LABELS[kind]} observation of TIC {tic}",
                    ]
                    found[user][tag] = entry
                position = 6 + KINDS.index(kind)
                entry[position] = str(int(entry[position]) + 1)
    return {user: [tags[tag] for tag in sorted(tags)] for user, tags in found.items()}


def _target_json(ctx: PageContext, tics: list[int]) -> Response:
    """``target.php?id=...&json``: the real shape (see ``target_json``); an unknown id answers an HTML page
    saying ``No TIC object found``."""
    dataset = ctx.state.dataset
    payload = None
    if tics:
        files = [row for info in dataset.tags_of(tics[0]) for row in _file_rows(ctx.state, info)]
        payload = target_json(dataset, tics[0], files)
    if payload is None:
        return html(pages.no_tic_object_page(ctx.param("id")))
    return Response(200, [("Content-Type", "application/json"), POWERED_BY], json.dumps(payload).encode())


async def target_page(ctx: PageContext) -> Response:
    tics = _target_tics(ctx, "id") or []
    if "json" in ctx.request.query:
        return _target_json(ctx, tics[:1])
    if not tics:
        return html(pages.not_found_page(ctx.request.target))
    dataset = ctx.state.dataset
    tic = tics[0]
    star = dataset.star(tic)
    counts = {kind: len(dataset.observations(tic).rows(kind)) for kind in KINDS}
    names = dataset.names.names_by_tic.get(tic, [])
    return html(pages.target_page(tic, star.tois if star else [], names, counts, ctx.user))


# --- files ---------------------------------------------------------------------------------------------------
def _is_proprietary(ctx: PageContext, info: TagInfo) -> bool:
    return info.proprietary or info.tag in ctx.state.config.proprietary_tags


def _login_required(ctx: PageContext) -> Response:
    return html(pages.login_page(ctx.request.target))


async def _tag_archive(ctx: PageContext, archive_format: str) -> Response:
    tag_text = ctx.param("tag")
    config = ctx.state.config
    if not tag_text.isdigit():
        return html(pages.no_such_tag_page(tag_text))
    tag = int(tag_text)
    if tag == SPECIAL_TAGS["missing_404"]:
        return html(pages.not_found_page(ctx.request.path), status=404)
    info = ctx.state.dataset.tag(tag)
    if info is None:
        return html(pages.no_such_tag_page(tag_text), status=config.unknown_tag_status)
    if info.special == "no_files":
        return html(pages.no_files_page(tag))
    if _is_proprietary(ctx, info) and ctx.user is None:
        return _login_required(ctx)
    if tag in config.empty_archive_tags:  # a switch: a zip with no entries (22 bytes)
        disposition = ("Content-Disposition", f'attachment; filename="tag_{tag}.zip"')
        empty_zip = b"PK\x05\x06" + b"\x00" * 18
        return Response(200, [("Content-Type", "application/zip"), disposition, POWERED_BY], empty_zip)
    size = config.tag_sizes.get(tag, config.tag_size)
    path = await ctx.state.archives.archive(info, archive_format, size)
    if config.archive_header_delay:  # a switch: the zip is built before the first byte is sent
        await asyncio.sleep(config.archive_header_delay)
    damage = ctx.state.archives.damage_for(path, archive_format) if ctx.corrupt else ()
    content_type = "application/zip" if archive_format == "zip" else "application/x-tar"
    headers = [
        ("Content-Type", content_type),
        ("Content-Disposition", f'attachment; filename="tag_{tag}.{archive_format}"'),
        POWERED_BY,
    ]
    return Response(200, headers, FileBody(path, corrupt_at=damage), chunked=config.chunked)


async def download_tag_files_zip(ctx: PageContext) -> Response:
    return await _tag_archive(ctx, "zip")


async def download_tag_files(ctx: PageContext) -> Response:
    return await _tag_archive(ctx, "tar")


async def _star_files(ctx: PageContext, archive_format: str) -> Response:
    tics = _target_tics(ctx, "id") or []
    dataset = ctx.state.dataset
    if not tics or dataset.star(tics[0]) is None:
        return html(pages.not_found_page(ctx.request.target))
    tic = tics[0]
    infos = [
        info
        for info in dataset.tags_of(tic)
        if info.special is None and (ctx.user is not None or not _is_proprietary(ctx, info))
    ]
    if not infos:
        return html(pages.no_star_files_page(tic))
    path = await ctx.state.archives.star_archive(tic, infos, archive_format)
    damage = ctx.state.archives.damage_for(path, archive_format) if ctx.corrupt else ()
    content_type = "application/zip" if archive_format == "zip" else "application/x-tar"
    headers = [
        ("Content-Type", content_type),
        ("Content-Disposition", f'attachment; filename="TIC{tic}.{archive_format}"'),
        POWERED_BY,
    ]
    return Response(200, headers, FileBody(path, corrupt_at=damage), chunked=ctx.state.config.chunked)


async def download_files_zip(ctx: PageContext) -> Response:
    return await _star_files(ctx, "zip")


async def download_files(ctx: PageContext) -> Response:
    return await _star_files(ctx, "tar")


_CONTENT_TYPES = {
    ".fits": "application/fits",
    ".png": "image/png",
    ".csv": "text/csv",
    ".txt": "text/plain",
    ".tbl": "text/plain",
}


async def get_file(ctx: PageContext) -> Response:
    id_text = ctx.param("id")
    if not id_text.isdigit():
        return html(pages.no_such_file_page(id_text))
    tag = int(id_text) // FILE_ID_STRIDE
    info = ctx.state.dataset.tag(tag)
    if info is None or info.special in ("no_files", "zip_bomb"):
        return html(pages.no_such_file_page(id_text))
    size = ctx.state.config.tag_sizes.get(tag, ctx.state.config.tag_size)
    entries = dict(ctx.state.archives.files(info, size))
    entry = entries.get(int(id_text))
    if entry is None:
        return html(pages.no_such_file_page(id_text))
    if _is_proprietary(ctx, info) and ctx.user is None:
        return _login_required(ctx)
    path = await ctx.state.archives.archive(info, "zip", size)
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        length = archive.getinfo(entry.name).file_size if entry.name in names else None
    if length is None:
        return html(pages.no_such_file_page(id_text))
    base_name = entry.name.rsplit("/", 1)[-1]
    content_type = _CONTENT_TYPES.get(Path(base_name).suffix, "application/octet-stream")
    headers = [
        ("Content-Type", content_type),
        ("Content-Disposition", f'attachment; filename="{base_name}"'),
        POWERED_BY,
    ]
    return Response(200, headers, StreamBody(_member_chunks(path, entry.name), length))


def _member_chunks(path: Path, name: str) -> Iterator[bytes]:
    with zipfile.ZipFile(path) as archive, archive.open(name) as member:
        while chunk := member.read(64 * 1024):
            yield chunk


# --- login ---------------------------------------------------------------------------------------------------
async def login(ctx: PageContext) -> Response:
    sessions = ctx.state.sessions
    session = sessions.get(ctx.sid)
    headers: list[tuple[str, str]] = []
    if session is None:
        session = sessions.create()
        ctx.sid = session.sid
        headers.append(("Set-Cookie", session_cookie(session.sid)))
    headers += [("Cache-Control", "no-store, no-cache, must-revalidate"), ("Pragma", "no-cache")]
    return html(pages.login_page(ctx.param("ref", "/tess/")), headers=headers)


async def password_check(ctx: PageContext) -> Response:
    if ctx.request.method != "POST":
        return redirect("/tess/login.php?ref=%2Ftess%2F")
    form = ctx.request.form()
    sessions = ctx.state.sessions
    headers: list[tuple[str, str]] = []
    session = sessions.adopt(ctx.sid) if ctx.sid else sessions.create()
    ctx.sid = session.sid
    username, password = form.get("username", ""), form.get("password", "")
    if not check_password(ctx.state.config.accounts, username, password):
        if session.user is None:
            headers.append(("Set-Cookie", session_cookie(session.sid)))
        return html(pages.invalid_login_page(form.get("ref_page", "/tess/")), headers=headers)
    sessions.log_in(session, username, ctx.state.config.session_ttl)
    ctx.user = username
    headers.append(("Set-Cookie", session_cookie(session.sid, session.expires)))
    landing = ctx.state.config.login_success  # a switch: where the real site lands is not documented
    if landing == "page":
        return html(pages.index_page(username), headers=headers)
    if landing == "ref_page":
        ref_page = form.get("ref_page", "/tess/")
        return redirect(ref_page if ref_page.startswith("/") and not ref_page.startswith("//") else "/tess/", headers)
    return redirect("/tess/index.php", headers)


async def logout(ctx: PageContext) -> Response:
    session = ctx.state.sessions.get(ctx.sid)
    if session is not None:
        session.user = None
        session.expires = None
    ctx.user = None
    return redirect("/tess/index.php")


async def index(ctx: PageContext) -> Response:
    return html(pages.index_page(ctx.user))


async def root(ctx: PageContext) -> Response:
    return redirect("/tess/")


Route = Callable[[PageContext], Awaitable[Response]]

ROUTES: dict[str, Route] = {
    "/": root,
    "/tess": root,
    "/tess/": index,
    "/tess/index.php": index,
    "/tess/download_toi.php": download_toi,
    "/tess/download_ctoi.php": download_ctoi,
    "/tess/gototicid.php": gototicid,
    "/tess/download_tseries.php": _observation_page("tseries"),
    "/tess/download_spect.php": _observation_page("spect"),
    "/tess/download_imaging.php": _observation_page("imaging"),
    "/tess/download_stellarcomp.php": _observation_page("companions"),
    "/tess/download_stellar.php": _star_table_page(STELLAR_COLUMNS, lambda s, tic: stellar_rows(s.dataset, tic)),
    "/tess/download_planet.php": _star_table_page(PLANET_COLUMNS, lambda s, tic: planet_rows(s.dataset, tic)),
    "/tess/download_nearbytarget.php": _star_table_page(NEARBY_COLUMNS, lambda s, tic: nearby_rows(s.dataset, tic)),
    "/tess/download_filelist.php": download_filelist,
    "/tess/download_obsnotes.php": download_obsnotes,
    "/tess/download_tag_tseries.php": _tag_summary_page("tseries"),
    "/tess/download_tag_spect.php": _tag_summary_page("spect"),
    "/tess/download_tag_imaging.php": _tag_summary_page("imaging"),
    "/tess/download_user_tags.php": download_user_tags,
    "/tess/target.php": target_page,
    "/tess/download_tag_files_zip.php": download_tag_files_zip,
    "/tess/download_tag_files.php": download_tag_files,
    "/tess/download_files_zip.php": download_files_zip,
    "/tess/download_files.php": download_files,
    "/tess/get_file.php": get_file,
    "/tess/login.php": login,
    "/tess/password_check.php": password_check,
    "/tess/logout.php": logout,
}


_INFLATED: dict[tuple[int, bytes], bytes] = {}


def inflating_body(size: int, prefix: bytes = b"") -> bytes:
    """A gzip stream of ``prefix`` then zeros, ``size`` bytes decoded (about 1/1000 of it), built once."""
    body = _INFLATED.get((size, prefix))
    if body is None:
        packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        parts = [packer.compress(prefix)]
        size = max(0, size - len(prefix))
        block = bytes(1 << 20)
        parts += [packer.compress(block) for _ in range(size >> 20)]
        parts += [packer.compress(bytes(size & ((1 << 20) - 1))), packer.flush()]
        body = _INFLATED[(size, prefix)] = b"".join(parts)
    return body


async def _switched(ctx: PageContext) -> Response | None:
    """The answer of a misbehaviour switch for this page, if one applies."""
    config = ctx.state.config
    path = ctx.request.path
    if config.foreign_redirect and path.endswith(config.foreign_redirect_pages):
        return redirect(config.foreign_redirect.rstrip("/") + ctx.request.target)
    if config.inflating_pages and path.endswith(config.inflating_pages):
        archive = path.endswith(("_zip.php", "download_tag_files.php", "download_files.php"))
        # an archive page's bomb begins like a zip, so that only its size gives it away
        prefix = b"PK\x03\x04" if archive else b""
        body = await asyncio.to_thread(inflating_body, config.inflate_bytes, prefix)
        content_type = "application/zip" if archive else TEXT
        return Response(200, [("Content-Type", content_type), ("Content-Encoding", "gzip"), POWERED_BY], body)
    return None


async def dispatch(ctx: PageContext) -> Response:
    switched = await _switched(ctx)
    if switched is not None:
        return switched
    route = ROUTES.get(ctx.request.path)
    if route is None:
        response = html(pages.not_found_page(ctx.request.path), status=404)
    else:
        response = await route(ctx)
    body = response.body
    if ctx.state.config.untidy_tables and isinstance(body, bytes) and _is_pipe_table(ctx, response.status, body):
        response.body = untidy(body)  # a switch: tables as they really look
    charset = ctx.state.config.page_charset
    if charset:  # a switch: the header claims another charset, the body stays UTF-8
        response.headers = [_with_charset(key, value, charset) for key, value in response.headers]
    return response


def _is_pipe_table(ctx: PageContext, status: int, body: bytes) -> bool:
    """A download page's pipe table (the file list is pipe without ``output=``)."""
    default = "pipe" if ctx.request.path.endswith("download_filelist.php") else "text"
    return (
        ctx.request.path.startswith("/tess/download_")
        and ctx.output(default) == "pipe"
        and status == 200
        and not body.lstrip().startswith(b"<")
    )


def _with_charset(key: str, value: str, charset: str) -> tuple[str, str]:
    if key.lower() != "content-type" or not value.startswith(("text/", "application/json")):
        return key, value
    return key, f"{value.split(';', 1)[0]}; charset={charset}"
