"""Downloading a system's tags into the sandbox: plan, fetch, verify, unpack, record.

:class:`Downloader` turns a :class:`DownloadTagsRequest` into a plan (which
tags, under which kind) and then fetches the tags concurrently under one
process-wide limit.  Each tag is fetched by
:func:`~exofop_mcp.downloads.transfer.fetch_tag_archive`, unpacked by
:func:`~exofop_mcp.downloads.archive_extraction.extract_zip` and committed by an atomic
manifest update; one bad tag never fails the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import time
import zipfile
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from exofop_mcp.atomic_files import hint_for_os_error, remove_stale_temp_files
from exofop_mcp.downloads.archive_extraction import extract_zip
from exofop_mcp.downloads.archive_limits import ExtractionLimits
from exofop_mcp.downloads.file_roles import first_wanted
from exofop_mcp.downloads.leftovers import remove_abandoned_temp_files
from exofop_mcp.downloads.locks import LockWaitTimeout, describe_process, range_lock
from exofop_mcp.downloads.manifest import (
    Containment,
    ManifestCommits,
    ManifestFile,
    ManifestTag,
    describe_file,
    is_complete,
    load_manifest,
    now,
)
from exofop_mcp.downloads.request_models import MAX_FILES_LISTED, DownloadTagsRequest, TagResult
from exofop_mcp.downloads.sandbox import DownloadKind, SandboxWriteError, SystemDirectory, write_failure
from exofop_mcp.downloads.streaming_unpack import StreamingUnpacker
from exofop_mcp.downloads.tag_owner import MAX_OWNER_LOOKUPS, UnlistedTag, check_unlisted_tag
from exofop_mcp.downloads.tag_tables import TableFiles, Tables, TablesFailure, TablesOnTheWay, fetch_tables, tag_kinds
from exofop_mcp.downloads.transfer import TransferLimits, fetch_tag_archive, tag_url
from exofop_mcp.errors import ArchiveError, CorruptArchive, ExofopMcpError, UnsafeArchive
from exofop_mcp.settings import Settings
from exofop_mcp.site.client import ExofopClient
from exofop_mcp.site.observations import (
    ObservationLister,
    apply_filters,
    check_planet_of,
    odd_tags_note,
)
from exofop_mcp.site.resolver import ResolvedSystem, SystemResolver
from exofop_mcp.site.retry_policy import RetryPolicy
from exofop_mcp.text_format import with_article

log = logging.getLogger(__name__)


@dataclass
class DownloadPlan:
    system: ResolvedSystem
    directory: SystemDirectory
    request: DownloadTagsRequest
    #: Each tag's kind; ``None`` until the observation tables say (they are read while archives transfer).
    kinds: dict[int, DownloadKind | None]
    rejected: dict[int, TagResult] = field(default_factory=dict)
    tables: Tables = field(default_factory=dict)
    #: The tables are still to be read (explicit tags only): transfers need not wait for them.
    tables_deferred: bool = False
    started: float = field(default_factory=time.time)
    #: The deferred tables while they come (a tag found in the first to arrive need not wait for the others).
    arriving: TablesOnTheWay | None = None
    tables_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    #: What the caller should know about the plan (rows skipped, say).
    notes: list[str] = field(default_factory=list)
    #: The planned tags found complete when the plan read the manifest (without ``overwrite``).
    present: dict[int, TagResult] = field(default_factory=dict)
    #: Every planned tag was checked against the manifest: a tag not in :attr:`present` was incomplete.
    checked: bool = False
    #: What ExoFOP's tag summaries say of the tags the system's tables do not list.
    unlisted: dict[int, UnlistedTag] = field(default_factory=dict)
    #: Tags whose owner was looked up (or is being looked up) in ExoFOP's summaries, by this plan.
    owner_lookups: int = 0

    @property
    def tags(self) -> list[int]:
        return list(self.kinds) + [t for t in self.rejected if t not in self.kinds]


ProgressCallback = Callable[[TagResult], None]


class Downloader:
    """Plans and runs downloads; one instance per process shares the concurrency limit."""

    def __init__(
        self,
        settings: Settings,
        client: ExofopClient,
        resolver: SystemResolver,
        observations: ObservationLister,
        *,
        transfer_limits: TransferLimits | None = None,
        extraction_limits: ExtractionLimits | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.settings = settings
        self.client = client
        self.resolver = resolver
        self.observations = observations
        self.transfer_limits = transfer_limits or TransferLimits(
            deadline_seconds=settings.tag_deadline_seconds, stall_seconds=settings.stall_seconds
        )
        self.extraction_limits = extraction_limits or ExtractionLimits()
        self.retry = retry or client.retry
        #: Tags between the start of their transfer and their manifest record: the client's lanes let
        #: ``concurrency`` transfer at once; this bounds how many more may wait for the disk (unpacking).
        self.slots = asyncio.Semaphore(2 * settings.concurrency)
        #: Archive requests sent by this process (for reports and benchmarks).
        self.archive_requests = 0
        #: Hook for logged-in downloads: an async context manager factory giving cookies per request.
        self.cookie_lease: Callable[[], contextlib.AbstractAsyncContextManager[dict[str, str] | None]] = _anonymous
        self.table_files = TableFiles()
        #: Finished tags are recorded in the manifest by group commit (one write for tags finishing together).
        self.commits = ManifestCommits(
            lambda d: range_lock(d.lock_file, d.lock_index(), timeout=settings.lock_wait_seconds)
        )
        #: The result of each tag found complete, by system directory and tag, with the manifest entry it
        #: was made from: a repeated call reuses it while the manifest holds that very entry.
        self._present_results: dict[str, dict[int, tuple[ManifestTag, TagResult]]] = {}

    # -- planning ----------------------------------------------------------------------

    async def plan(self, request: DownloadTagsRequest) -> DownloadPlan:
        """The whole plan: :meth:`start_plan`, then :meth:`finish_plan`."""
        plan = await self.start_plan(request)
        await self.finish_plan(plan)
        return plan

    async def start_plan(self, request: DownloadTagsRequest) -> DownloadPlan:
        """The system and its directory (errors in the request raise here); the tags come from :meth:`finish_plan`."""
        system = await self.resolver.resolve(request.system)
        check_planet_of(system, request.filters())  # another system's planet would match no row
        directory = SystemDirectory(self.settings.data_dir, system.canonical_name)
        directory.check_links()  # a link leading outside the sandbox is refused before anything is read
        return DownloadPlan(system, directory, request, kinds={})

    async def finish_plan(self, plan: DownloadPlan) -> None:
        """Which tags, under which kind: may read the observation tables (which can be slow).

        The manifest is read once for the plan, and each tag's completeness checked once: the run
        looks the answers up.
        """
        request, system, directory = plan.request, plan.system, plan.directory
        manifest = load_manifest(directory)
        containment = Containment(directory)
        checked: dict[int, DownloadKind | None] = {}
        known = self._present_results.setdefault(str(directory.path), {})

        def present_result(entry: ManifestTag) -> TagResult:
            """A result made before is reused while the manifest holds that very entry (entries are shared)."""
            made = known.get(entry.tag)
            if made is None or made[0] is not entry:
                made = known[entry.tag] = (entry, _present_result(entry))
            return made[1]

        def complete_kind(tag: int) -> DownloadKind | None:
            if tag not in checked:
                checked[tag] = None
                entry = manifest.entry(tag) if manifest else None
                if (
                    entry
                    and not request.overwrite
                    and is_complete(directory, entry, verify=request.verify, containment=containment)
                ):
                    checked[tag] = entry.kind
                    plan.present[tag] = present_result(entry)
            return checked[tag]

        if request.tags is not None and request.kind is None:
            # Explicit tags: start transferring at once; the tables that file each tag under its kind
            # are read meanwhile (only for tags that are not already complete).
            plan.kinds = {tag: complete_kind(tag) for tag in request.tags}
            plan.checked = True
            plan.tables_deferred = any(kind is None for kind in plan.kinds.values())
            return
        needs_tables = request.tags is None or any(complete_kind(t) != request.kind for t in request.tags)
        if needs_tables:
            plan.tables = await fetch_tables(self.observations, system.tic_id)
        if request.tags is None:
            assert request.kind is not None
            odd = self.observations.odd_tags.get((request.kind, system.tic_id), 0)
            if odd:
                plan.notes.append(odd_tags_note(odd))
            rows = apply_filters(plan.tables.get(request.kind, []), request.filters(), request.kind)
            for row in rows:
                tag = getattr(row, "tag", None)
                if tag is not None:
                    plan.kinds.setdefault(tag, request.kind)
            for tag in plan.kinds:
                complete_kind(tag)
            plan.checked = True
            return

        table_kind = tag_kinds(plan.tables)
        for tag in request.tags:
            kind = table_kind.get(tag) or complete_kind(tag) or "other"
            if kind == "other":
                unlisted = await self._unlisted(plan, tag)
                if unlisted.other_star(system):
                    plan.rejected[tag] = TagResult(
                        tag=tag, kind="other", status="other_star", message=unlisted.refusal(system)
                    )
                    continue
                if unlisted.owner is not None:  # this star's, though its tables do not list it
                    kind = unlisted.owner.kind
            if request.kind and kind != request.kind:
                where = f"listed under {kind}" if kind != "other" else "not in any of its observation tables"
                plan.rejected[tag] = TagResult(
                    tag=tag,
                    kind=kind,
                    status="not_found",
                    message=f"tag {tag} is not {with_article(request.kind.replace('_', ' '))} observation of "
                    f"{system.canonical_name} ({where}). "
                    f"Use list_observations(kind='{request.kind}') to see its tags.",
                )
                continue
            plan.kinds[tag] = kind
        plan.checked = True

    # -- running -------------------------------------------------------------------------

    async def run(self, plan: DownloadPlan, report: ProgressCallback, on_bytes: Callable[[int], None]) -> None:
        """Fetch every planned tag, calling ``report`` as each one changes state."""
        if not plan.kinds:  # no tag to fetch (none matched, or all refused): the sandbox stays as it is
            for result in plan.rejected.values():
                report(result)
            return
        directory = plan.directory
        directory.check_links()
        try:
            directory.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SandboxWriteError(write_failure(exc, directory.path), hint=hint_for_os_error(exc)) from None
        # Tags the plan found complete are reported as they are; only the others are fetched.
        to_fetch = {tag: kind for tag, kind in plan.kinds.items() if not (plan.checked and tag in plan.present)}
        if to_fetch:
            # Leftovers of a killed run: those whose lock no live process holds.
            remove_abandoned_temp_files(directory)
            with contextlib.suppress(OSError):  # anything else temporary, once it is old enough
                remove_stale_temp_files(directory.path, recursive=True, min_age_seconds=3600)
        # While it runs, the archive lanes are the download's and its table requests share the small lane.
        async with self.client.lanes.downloading():
            if plan.tables_deferred:
                # Read while the archives transfer, in kind order, each on its own.
                plan.arriving = TablesOnTheWay(self.observations, plan.system.tic_id)
            else:
                try:
                    await self._write_tables(plan)
                except OSError as exc:  # AtomicWriteError included: it names the file
                    raise SandboxWriteError(write_failure(exc)) from None
            for result in plan.rejected.values():
                report(result)
            for tag in plan.kinds:
                if tag not in to_fetch:
                    report(plan.present[tag])
            try:
                # One tag's failure is that tag's status; and if the run stops, no tag's task outlives it.
                async with asyncio.TaskGroup() as group:
                    for tag, kind in to_fetch.items():
                        group.create_task(self._guarded_tag(plan, tag, kind, report, on_bytes), name=f"tag-{tag}")
                    if plan.tables_deferred:
                        # Filed and saved as soon as every table has come, while the archives still
                        # transfer: nothing of it is left for after the last byte.
                        group.create_task(self._tables_meanwhile(plan), name="tables")
            finally:
                if plan.arriving is not None:
                    plan.arriving.cancel()

    async def _tables_meanwhile(self, plan: DownloadPlan) -> None:
        """:meth:`_complete_tables` beside the transfers; a failure is the report's note, never a tag's end."""
        try:
            await self._complete_tables(plan)
        except TablesFailure as exc:
            log.warning("%s: %s", plan.system.canonical_name, exc.note())
            plan.notes.append(exc.note())
        except Exception:  # a bug here must not undo the tags already filed
            log.exception("%s: the observation tables could not be saved", plan.system.canonical_name)
            plan.notes.append(
                "The tags are filed, but the observation tables could not be saved (an internal "
                "error; the details are in the server's log)."
            )

    async def _kind_of(self, plan: DownloadPlan, tag: int) -> DownloadKind:
        """The kind a tag is filed under, waiting for the observation tables if they are still on their way:
        a tag in the first table to arrive (time series) need not wait for the others."""
        kind = plan.kinds.get(tag)
        if kind is not None:
            return kind
        assert plan.arriving is not None
        listed = await plan.arriving.listed_kind(tag)
        if listed is not None:
            plan.kinds[tag] = listed
            return listed
        await self._complete_tables(plan)
        return plan.kinds[tag] or "other"

    async def _complete_tables(self, plan: DownloadPlan) -> None:
        """Wait for every deferred table, then file each tag's kind and save the tables (once a plan)."""
        assert plan.arriving is not None
        async with plan.tables_lock:
            if plan.tables_deferred:
                try:
                    plan.tables = await plan.arriving.everything
                except ExofopMcpError as exc:
                    raise TablesFailure(str(exc), reading=True) from exc
                listed = tag_kinds(plan.tables)
                plan.kinds = {t: k or listed.get(t, "other") for t, k in plan.kinds.items()}
                plan.tables_deferred = False
                try:
                    await self._write_tables(plan)
                except (OSError, ExofopMcpError) as exc:  # a write, not the site, failed: say which
                    raise TablesFailure(write_failure(exc), reading=False) from exc

    async def _write_tables(self, plan: DownloadPlan) -> None:
        await self.table_files.write(plan.directory, plan.tables, set(plan.kinds.values()))

    async def _guarded_tag(
        self,
        plan: DownloadPlan,
        tag: int,
        kind: DownloadKind | None,
        report: ProgressCallback,
        on_bytes: Callable[[int], None],
    ) -> None:
        """:meth:`_tag`, with anything unexpected turned into that tag's ``failed`` status."""
        try:
            await self._tag(plan, tag, kind, report, on_bytes)
        except Exception as exc:
            if isinstance(exc, ExofopMcpError):
                message = str(exc)
                log.warning("tag %s failed: %s", tag, message)
            else:
                log.exception("tag %s failed unexpectedly", tag)
                message = (
                    f"exofop-mcp hit an internal error on tag {tag} ({type(exc).__name__}); the details are in "
                    "the server's log (stderr). The other tags were not affected; asking again retries this one."
                )
            report(TagResult(tag=tag, kind=plan.kinds.get(tag) or kind, status="failed", message=message))

    async def _tag(
        self,
        plan: DownloadPlan,
        tag: int,
        kind: DownloadKind | None,
        report: ProgressCallback,
        on_bytes: Callable[[int], None],
    ) -> None:
        directory = plan.directory
        request = plan.request
        if plan.checked:  # the plan has checked every tag against the manifest: a lookup
            present = plan.present.get(tag)
        else:
            present = self._present(directory, tag, request.overwrite, verify=request.verify)
        if present is not None:
            report(present)
            return
        directory.check_links()
        report(TagResult(tag=tag, kind=kind, status="pending"))

        def waiting(pid: int | None) -> None:
            report(
                TagResult(
                    tag=tag,
                    kind=kind,
                    status="pending",
                    message=f"waiting for {describe_process(pid)}, which is downloading this tag (exofop-mcp "
                    f"running elsewhere); this call gives up after {self.settings.lock_wait_seconds:g} s",
                )
            )

        try:
            await self._tag_locked(plan, tag, kind, report, on_bytes, waiting)
        except LockWaitTimeout as exc:
            report(TagResult(tag=tag, kind=kind, status="locked", message=_locked_message(tag, exc)))

    async def _tag_locked(
        self,
        plan: DownloadPlan,
        tag: int,
        kind: DownloadKind | None,
        report: ProgressCallback,
        on_bytes: Callable[[int], None],
        waiting: Callable[[int | None], None],
    ) -> None:
        directory = plan.directory
        request = plan.request
        lock_wait = self.settings.lock_wait_seconds
        async with range_lock(directory.lock_file, directory.lock_index(tag), timeout=lock_wait, on_wait=waiting):
            # Another call may have completed the tag while this one waited for the lock.
            present = self._present(
                directory, tag, request.overwrite and not self._fresh(directory, tag, plan), verify=request.verify
            )
            if present is not None:
                report(present)
                return
            try:
                result = await self._fetch_and_unpack(
                    plan, tag, on_bytes, lambda: report(TagResult(tag=tag, kind=kind, status="downloading"))
                )
            except asyncio.CancelledError:
                # An archive that was complete but never recorded does not stay either.
                directory.archive_path(tag).unlink(missing_ok=True)
                raise
            # Recorded before the tag's lock is released, so a waiting call sees it complete.
            result = await self._record(plan, result)
        report(result)

    def _present(
        self, directory: SystemDirectory, tag: int, overwrite: bool, *, verify: bool = False
    ) -> TagResult | None:
        if overwrite:
            return None
        manifest = load_manifest(directory)
        entry = manifest.entry(tag) if manifest else None
        if entry is None or not is_complete(directory, entry, verify=verify):
            return None
        return _present_result(entry)

    def _fresh(self, directory: SystemDirectory, tag: int, plan: DownloadPlan) -> bool:
        """With overwrite, a tag completed by another call after this plan was made need not be fetched twice."""
        manifest = load_manifest(directory)
        entry = manifest.entry(tag) if manifest else None
        return bool(entry and entry.time.timestamp() > plan.started)

    async def _fetch_and_unpack(
        self, plan: DownloadPlan, tag: int, on_bytes: Callable[[int], None], started: Callable[[], None]
    ) -> TagResult:
        """Fetch and unpack one tag once a slot is free: until then the tag is queued (``pending``),
        from then on ``downloading`` (``started`` says so)."""
        plan.directory.archive_path(tag).parent.mkdir(parents=True, exist_ok=True)
        streams: list[StreamingUnpacker] = []
        async with self.slots:
            started()
            try:
                return await self._fetch_and_unpack_slotted(plan, tag, on_bytes, streams)
            finally:
                for streamed in streams:  # closed by the extraction; here if it never came to that
                    await streamed.aclose()

    async def _fetch_and_unpack_slotted(
        self, plan: DownloadPlan, tag: int, on_bytes: Callable[[int], None], streams: list[StreamingUnpacker]
    ) -> TagResult:
        directory = plan.directory
        request = plan.request
        archive = directory.archive_path(tag)
        attempts = 0
        for round_ in (1, 2):  # a corrupt archive is fetched once more: corruption in transit is transient
            # A lane is held while the bytes flow (the client's), a login only for the transfer, and
            # neither while the archive is committed, checked and unpacked.
            # While unpacking as the bytes flow, the tag's kind (where its files go) is looked up meanwhile.
            streaming = request.unzip and self.settings.stream_unpack
            kind_task = asyncio.ensure_future(self._kind_of(plan, tag)) if streaming else None
            try:
                async with self.cookie_lease() as cookies:
                    self.archive_requests += 1
                    outcome = await fetch_tag_archive(
                        self.client,
                        tag,
                        archive,
                        retry=self.retry,
                        limits=self.transfer_limits,
                        cookies=cookies,
                        on_bytes=on_bytes,
                        durable=request.keep_zip or not request.unzip,  # a kept archive is synced
                        unpacker=self._unpacker(plan, tag, kind_task) if kind_task is not None else None,
                    )
            except BaseException:
                if kind_task is not None:
                    kind_task.cancel()
                raise
            if outcome.streamed is not None:
                streams.append(outcome.streamed)
            attempts += outcome.attempts
            try:
                kind = await (kind_task if kind_task is not None else self._kind_of(plan, tag))
            except TablesFailure as exc:
                archive.unlink(missing_ok=True)
                return TagResult(tag=tag, status="failed", attempts=attempts, message=str(exc))
            base = TagResult(
                tag=tag, kind=kind, status="failed", bytes=outcome.size, sha256=outcome.sha256, attempts=attempts
            )
            if kind == "other" and outcome.status in ("ok", "not_found"):
                # In none of the system's tables: ExoFOP's summary of the tag says whose it is.
                unlisted = await self._unlisted(plan, tag)
                if unlisted.other_star(plan.system):
                    archive.unlink(missing_ok=True)
                    return base.model_copy(
                        update={"status": "other_star", "kind": "other", "message": unlisted.refusal(plan.system)}
                    )
                if unlisted.owner is not None:  # this star's, though its tables do not list it
                    kind = plan.kinds[tag] = unlisted.owner.kind
                # the note stays on a downloaded result; a failure's own message comes first
                base = base.model_copy(update={"kind": kind, "message": unlisted.note(plan.system)})
            if outcome.status != "ok":
                message = " ".join(part for part in (outcome.message, base.message) if part)
                return base.model_copy(update={"status": outcome.status, "message": message or None})
            # The disk work below yields to the requests that take the freed lanes.
            await self.client.lanes.requests_out()
            if await asyncio.to_thread(_holds_no_files, archive):
                archive.unlink(missing_ok=True)
                return base.model_copy(update={"status": "empty", "message": _empty_message(tag, cookies)})
            if not request.unzip:
                rel = directory.relative(archive)
                return base.model_copy(
                    update={"status": "downloaded", "directory": "archives", "files": [rel], "file_count": 1}
                )
            target = directory.tag_dir(kind, tag)
            try:
                files = await _uncancellable(
                    asyncio.to_thread(extract_zip, archive, target, self.extraction_limits, streamed=outcome.streamed)
                )
            except asyncio.CancelledError:
                # Cancelled while unpacking: the files were never recorded, so they do not stay either.
                archive.unlink(missing_ok=True)
                shutil.rmtree(target, ignore_errors=True)
                raise
            except UnsafeArchive as exc:
                archive.unlink(missing_ok=True)
                return base.model_copy(update={"status": "unsafe_archive", "message": _refused_message(tag, exc)})
            except CorruptArchive as exc:
                archive.unlink(missing_ok=True)
                if round_ == 1:
                    log.info("tag %s: corrupt archive (%s); fetching it again", tag, exc.reason)
                    on_bytes(-outcome.size)
                    continue
                return base.model_copy(update={"status": "corrupt", "message": _refused_message(tag, exc, twice=True)})
            except ArchiveError as exc:
                archive.unlink(missing_ok=True)
                return base.model_copy(update={"message": _refused_message(tag, exc)})
            if not files:  # only folders: nothing to keep
                archive.unlink(missing_ok=True)
                shutil.rmtree(target, ignore_errors=True)
                return base.model_copy(update={"status": "empty", "message": _empty_message(tag, cookies)})
            if not request.keep_zip:
                archive.unlink(missing_ok=True)
            rel_dir = directory.relative(target)
            return base.model_copy(
                update={
                    "status": "downloaded",
                    "directory": rel_dir,
                    "files": first_wanted((f"{rel_dir}/{f}" for f in files), str, kind)[:MAX_FILES_LISTED],
                    "file_count": len(files),
                }
            )
        raise AssertionError("unreachable")

    def _unpacker(
        self, plan: DownloadPlan, tag: int, kind_task: asyncio.Future[DownloadKind]
    ) -> Callable[[], StreamingUnpacker | None]:
        """Unpack while the body flows, beside the tag's folder once ``kind_task`` says which it is."""

        def make() -> StreamingUnpacker:
            unpacker = StreamingUnpacker(None, self.extraction_limits)

            def kind_known(task: asyncio.Future[DownloadKind]) -> None:
                if task.cancelled() or task.exception() is not None:
                    unpacker.discard()
                else:
                    unpacker.set_target(plan.directory.tag_dir(task.result(), tag))

            if kind_task.done():
                kind_known(kind_task)
            else:
                kind_task.add_done_callback(kind_known)
            return unpacker

        return make

    async def _unlisted(self, plan: DownloadPlan, tag: int) -> UnlistedTag:
        """Whose is a tag the system's tables do not list (asked once per plan, for at most
        :data:`~exofop_mcp.downloads.tag_owner.MAX_OWNER_LOOKUPS` tags of the plan)."""
        if tag not in plan.unlisted:
            if plan.owner_lookups >= MAX_OWNER_LOOKUPS:
                if not any(known.unchecked for known in plan.unlisted.values()):
                    plan.notes.append(
                        f"More than {MAX_OWNER_LOOKUPS} of the tags are in none of {plan.system.canonical_name}'s "
                        f"observation tables: only the first {MAX_OWNER_LOOKUPS} were looked up in ExoFOP's tag "
                        "summaries (each look-up costs up to three requests); the others were not checked."
                    )
                plan.unlisted[tag] = UnlistedTag(tag, unchecked=True)
            else:
                plan.owner_lookups += 1  # counted before the look-up: tags transfer concurrently
                plan.unlisted[tag] = await check_unlisted_tag(self.client, tag)
        return plan.unlisted[tag]

    async def _record(self, plan: DownloadPlan, result: TagResult) -> TagResult:
        """Commit the tag's outcome to the manifest and return it; a manifest that cannot be written fails the tag."""
        try:
            await self._write_record(plan, result)
        except (OSError, LockWaitTimeout) as exc:  # a full disk: this tag fails with the reason, the others go on
            log.warning("tag %s could not be recorded: %s", result.tag, exc)
            if isinstance(exc, LockWaitTimeout):
                exc = LockWaitTimeout(_locked_message(result.tag, exc, manifest=True), exc.pid)
            if result.status != "downloaded":
                return result  # its own failure says more
            await asyncio.to_thread(self._remove_unrecorded, plan.directory, result)
            return result.model_copy(
                update={"status": "failed", "directory": None, "files": [], "file_count": 0, "message": str(exc)}
            )
        return result

    def _remove_unrecorded(self, directory: SystemDirectory, result: TagResult) -> None:
        """Files unpacked for a tag that the manifest does not list as complete must not look like a download."""
        if self._present(directory, result.tag, False) is not None:
            return  # an earlier complete download of the tag stays
        directory.archive_path(result.tag).unlink(missing_ok=True)
        if result.directory and result.directory != "archives":
            shutil.rmtree(directory.path / result.directory, ignore_errors=True)

    def _describe_files(self, plan: DownloadPlan, result: TagResult) -> tuple[list[ManifestFile], str | None]:
        """The files of a downloaded tag (size, time, SHA-256) and its kept archive, as the manifest records them."""
        if result.status != "downloaded":
            return [], None
        directory = plan.directory
        if result.directory == "archives":
            path = directory.path / result.files[0]
            st = path.stat()
            return [
                ManifestFile(path=result.files[0], size=result.bytes, sha256=result.sha256, mtime_ns=st.st_mtime_ns)
            ], result.files[0]
        assert result.directory is not None
        target = directory.path / result.directory
        files = [describe_file(directory, p) for p in sorted(target.rglob("*")) if p.is_file()]
        kept = directory.archive_path(result.tag)
        return files, directory.relative(kept) if plan.request.keep_zip and kept.exists() else None

    async def _write_record(self, plan: DownloadPlan, result: TagResult) -> None:
        """Commit the tag's outcome to the manifest (atomically, under the system's lock)."""
        directory = plan.directory
        files, kept = await asyncio.to_thread(self._describe_files, plan, result)
        entry = ManifestTag(
            tag=result.tag,
            kind=result.kind or "other",
            status=result.status,
            source_url=tag_url(self.client, result.tag),
            sha256=result.sha256,
            size=result.bytes or None,
            directory=result.directory,
            archive=kept,
            files=files,
            attempts=result.attempts,
            message=result.message,
            time=now(),
        )
        # A failed re-fetch never forgets a good earlier download.
        await self.commits.record(
            directory, entry, tic_id=plan.system.tic_id, keep_complete=result.status != "downloaded"
        )


@contextlib.asynccontextmanager
async def _anonymous() -> AsyncIterator[dict[str, str] | None]:
    yield None


async def _uncancellable(work: Coroutine[Any, Any, list[str]]) -> list[str]:
    """Let an extraction that has started finish even if the caller is cancelled, then re-raise."""
    task = asyncio.ensure_future(work)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        with contextlib.suppress(Exception):
            await task
        raise


def _locked_message(tag: int, exc: LockWaitTimeout, *, manifest: bool = False) -> str:
    what = "the system's manifest" if manifest else f"tag {tag}"
    holder = describe_process(exc.pid)
    kill = f"end it (`kill {exc.pid}`)" if exc.pid is not None else "end it"
    return (
        f"{what} is locked by {holder}, another exofop-mcp download, which held it past this call's wait "
        f"(EXOFOP_MCP_LOCK_WAIT_SECONDS). If that process is stuck (stopped or hung), {kill} and ask again; "
        "otherwise ask again once it is done."
    )


def _present_result(entry: ManifestTag) -> TagResult:
    """The result of a tag found complete on disk."""
    files = first_wanted((f.path for f in entry.files), str, entry.kind)
    return TagResult(
        tag=entry.tag,
        kind=entry.kind,
        status="already_present",
        bytes=entry.size or 0,
        sha256=entry.sha256,
        directory=entry.directory,
        files=files[:MAX_FILES_LISTED],
        file_count=len(files),
        message="already downloaded and complete; ask with overwrite to fetch it again",
    )


def _refused_message(tag: int, exc: ArchiveError, *, twice: bool = False) -> str:
    """What happened to a tag's archive, without naming the archive file: it was deleted, nothing was kept."""
    member = f" (member {exc.member!r})" if exc.member else ""
    if twice:
        return (
            f"ExoFOP's archive of tag {tag} arrived damaged twice: {exc.reason}{member}. Nothing was kept. Ask again "
            "later; if it stays damaged, the archive on ExoFOP may be broken (tell the ExoFOP team)."
        )
    hint = exc.hint.replace("Nothing was extracted. ", "") if exc.hint else ""
    return f"The archive of tag {tag} was refused: {exc.reason}{member}. Nothing was extracted or kept. {hint}".strip()


def _holds_no_files(archive: Path) -> bool:
    """A zip whose directory lists no file (an empty archive); a damaged one is left to the extraction."""
    try:
        with zipfile.ZipFile(archive) as zf:
            return not any(not info.is_dir() for info in zf.infolist())
    except (OSError, zipfile.BadZipFile, ValueError):
        return False


def _empty_message(tag: int, cookies: dict[str, str] | None) -> str:
    login = (
        "it may be proprietary and visible only to a logged-in account with rights to it"
        if cookies
        else "it may be proprietary (the user runs `exofop-mcp login` in a terminal, then asks again)"
    )
    return (
        f"ExoFOP sent tag {tag} as an archive with no files: {login}, or the tag is empty on the site. "
        "Nothing was kept."
    )
