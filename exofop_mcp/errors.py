"""The project's exceptions.

Every error a user or an assistant can meet is one of these.  Each carries a message that says what
went wrong *and what to do next*, and a short machine-readable ``code`` that is stable across
versions.  The command line shows ``str(error)``; the MCP server sends ``[<code>] <str(error)>`` as
the tool error's text (for example ``[not_found] ExoFOP knows no star named ...``), so a client can
act on the code without parsing the sentence.  Neither ever shows a traceback or a secret.

The hierarchy (the code of each class in brackets)::

    ExofopMcpError [error]
      ConfigurationError [configuration]         a setting or flag has an invalid value
      UsageError [usage]                         command-line arguments are malformed
      InvalidIdentifierError [invalid_identifier]  (also ValueError)
      InvalidRequestError [invalid_request]      (also ValueError)
        UnknownSiteError [unknown_site]          an observatory name the planner does not know
      TargetNotFoundError [not_found]
      AmbiguousTargetError [ambiguous]
      ExofopUnavailableError [unavailable]
        ExofopUnreachableError [unavailable]    no answer after retries, with the precise cause
        ExofopThrottledError [throttled]         empty answers after retries: the site is throttling
      ExofopHTTPError [http_error]
      ExofopResponseError [unexpected_response]
      CredentialsError [credentials]
      LoginFailedError [login_failed]
      LoginUnconfirmedError [login_unconfirmed]
      AtomicWriteError [write_failed]            (also OSError)
      SandboxEscapeError [outside_sandbox]       (also ValueError) a path or link that leads out
      UnsafeFileError [unsafe_file]              not a regular file (FIFO, device...), or a hard link
      ArchiveError [archive_error]
        UnsafeArchive [unsafe_archive]
        CorruptArchive [corrupt_archive]
        UnsupportedArchive [unsupported_archive]
        ExtractionIOError [extraction_failed]    (also OSError)
      FileLimitError [over_limit]                a downloaded file past a reading cap (a count, size or time)
        FileTooLargeError [over_limit]           past a size, line-length or column cap, not read whole
      FileWorkBusyError [busy]                   every thread for file work is taken; try again shortly

Defined beside the code that raises them (each with its own code): ``SandboxLinkError``
[outside_sandbox], ``SandboxWriteError`` [write_failed] (:mod:`exofop_mcp.downloads.sandbox`),
``LockWaitTimeout`` [locked] (:mod:`exofop_mcp.downloads.locks`), ``ManifestUnreadableError``
[manifest_unreadable] (:mod:`exofop_mcp.downloads.manifest`), ``FileOutsideSandboxError``
[outside_sandbox] and ``SandboxFileNotFoundError`` [file_not_found] (:mod:`exofop_mcp.previews.locate`),
``PreviewError`` [unreadable_file] (:mod:`exofop_mcp.previews.preview`) and ``Refusal`` [refused]
(:mod:`exofop_mcp.lightcurves.reports`, a light-curve file's reason, reported per file).  The base
class's own code, ``error``, is never sent: every error raised on purpose is one of the subclasses.

Outside the tree, on purpose: a few private exceptions that steer control flow and never reach a
user: :class:`~exofop_mcp.site.client.TransientFailure` (raised by a request attempt to ask the
client's one retry loop for another try; ``_Stalled`` in :mod:`exofop_mcp.downloads.transfer` and
``_Busy`` in :mod:`exofop_mcp.auth.login` are kinds of it), ``_Permanent`` in the transfer (a tag's
final status), ``Stop`` in the doctor (ends one check with its verdict), and the ExoFOP replica's
``BadRequest`` and ``ClientGone`` (the replica is the test site, not the client; they turn into an
HTTP 400 answer or a dropped connection there).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from exofop_mcp.site.responses import BodyKind

__all__ = [
    "AmbiguousTargetError",
    "ArchiveError",
    "AtomicWriteError",
    "ConfigurationError",
    "CorruptArchive",
    "CredentialsError",
    "ExofopHTTPError",
    "ExofopMcpError",
    "ExofopResponseError",
    "ExofopThrottledError",
    "ExofopUnavailableError",
    "ExofopUnreachableError",
    "ExtractionIOError",
    "FileLimitError",
    "FileTooLargeError",
    "FileWorkBusyError",
    "ForeignRedirectError",
    "InvalidIdentifierError",
    "InvalidRequestError",
    "LoginFailedError",
    "LoginUnconfirmedError",
    "ResponseTooLargeError",
    "SandboxEscapeError",
    "TargetNotFoundError",
    "UnknownSiteError",
    "UnsafeArchive",
    "UnsafeFileError",
    "UnsupportedArchive",
    "UsageError",
]


class ExofopMcpError(Exception):
    """Base class of every error this package raises on purpose."""

    #: A short machine-readable code, stable across versions (the MCP server puts it in brackets
    #: before the message of a tool error).
    code = "error"

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(message if not hint else f"{message} {hint}")


class ConfigurationError(ExofopMcpError):
    """A setting (environment variable or flag) has an invalid value."""

    code = "configuration"


class UsageError(ExofopMcpError):
    """Command-line arguments are malformed; the command prints its usage with this and exits 2."""

    code = "usage"


class InvalidIdentifierError(ExofopMcpError, ValueError):
    """A query is not a TIC id, a TOI or a plausible name."""

    code = "invalid_identifier"


class TargetNotFoundError(ExofopMcpError):
    """ExoFOP knows no star or candidate by that name."""

    code = "not_found"


class AmbiguousTargetError(ExofopMcpError):
    """A name matches several stars; the user must pick one."""

    code = "ambiguous"

    def __init__(self, message: str, candidates: list[int], *, hint: str | None = None) -> None:
        self.candidates = candidates
        super().__init__(message, hint=hint)


class InvalidRequestError(ExofopMcpError, ValueError):
    """A tool or API argument is out of range or inconsistent with another."""

    code = "invalid_request"


class UnknownSiteError(InvalidRequestError):
    """An observatory name the transit planner does not know (the message lists the close names)."""

    code = "unknown_site"


class ExofopUnavailableError(ExofopMcpError):
    """ExoFOP could not be reached (DNS, refused connection, timeout) after retries."""

    code = "unavailable"


class ExofopUnreachableError(ExofopUnavailableError):
    """ExoFOP could not be reached after retries; says why, precisely, and after how many attempts."""

    def __init__(self, message: str, *, description: str, attempts: int, hint: str | None = None) -> None:
        #: The precise cause, e.g. ``connection refused by 127.0.0.1:8 (nothing is listening there)``.
        self.description = description
        #: Attempts made (the first one included).
        self.attempts = attempts
        super().__init__(message, hint=hint)


class ExofopThrottledError(ExofopUnavailableError):
    """ExoFOP kept answering a page with an empty body (its way of throttling), retries included.

    An empty body is never "no rows": a table without rows is its header line alone.
    """

    code = "throttled"


class ExofopHTTPError(ExofopMcpError):
    """ExoFOP answered with an HTTP error status after retries."""

    code = "http_error"

    def __init__(self, message: str, status_code: int, *, hint: str | None = None) -> None:
        self.status_code = status_code
        super().__init__(message, hint=hint)


class ExofopResponseError(ExofopMcpError):
    """ExoFOP answered, but not with what the page is documented to return."""

    code = "unexpected_response"


class ResponseTooLargeError(ExofopResponseError):
    """An answer decoded to more bytes than the limit for its kind (a decompression bomb, or a runaway page)."""

    code = "response_too_large"


class ForeignRedirectError(ExofopResponseError):
    """A page redirected to another site (scheme, host or port) than the configured one: not followed."""

    code = "foreign_redirect"

    def __init__(self, message: str, location: str, *, hint: str | None = None) -> None:
        self.location = location
        super().__init__(message, hint=hint)


class CredentialsError(ExofopMcpError):
    """No usable ExoFOP username and password: a bad credential file, or no way to ask for them."""

    code = "credentials"


class LoginFailedError(ExofopMcpError):
    """ExoFOP rejected the username or password."""

    code = "login_failed"


class LoginUnconfirmedError(ExofopMcpError):
    """ExoFOP answered the login, but neither with its welcome page nor with a rejection."""

    code = "login_unconfirmed"


# --------------------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------------------


class AtomicWriteError(ExofopMcpError, OSError):
    """Writing a file (or committing it to its final name) failed.

    It is also an :class:`OSError`, so code that handles I/O errors generically keeps working;
    ``errno`` is copied from the underlying error, which is also chained as ``__cause__``.  The message
    names the path and ``hint`` says what the user can do about it.
    """

    code = "write_failed"


class SandboxEscapeError(ExofopMcpError, ValueError):
    """A path (given, or read from disk state) or a link on its way would lead outside the sandbox.

    Nothing is read or written through it (see :mod:`exofop_mcp.sandbox_files`).
    """

    code = "outside_sandbox"


class UnsafeFileError(ExofopMcpError):
    """A file in the sandbox that is not read: a FIFO, device, socket or folder, or a hard link."""

    code = "unsafe_file"


class ArchiveError(ExofopMcpError):
    """Base class of every problem with an archive.

    Attributes: ``reason`` (what is wrong, one phrase), ``archive`` (the archive path, if known) and
    ``member`` (the offending member name, if any).  ``str(error)`` is a complete sentence followed
    by what to do about it (``hint``).
    """

    code = "archive_error"
    _verb = "Cannot extract"
    _default_hint = "Delete the file and download it again."

    def __init__(
        self,
        reason: str,
        *,
        archive: Path | str | None = None,
        member: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.reason = reason
        self.archive = Path(archive) if archive is not None else None
        self.member = member
        where = f" {self.archive}" if self.archive is not None else " the archive"
        super().__init__(f"{self._verb}{where}: {reason}.", hint=hint or self._default_hint)


class UnsafeArchive(ArchiveError):
    """The archive could write outside its destination, create links or devices, or is a zip bomb.

    Nothing was extracted.
    """

    code = "unsafe_archive"
    _verb = "Refusing to extract"
    _default_hint = (
        "Nothing was extracted. The archive may be malicious; do not unpack it with other tools, "
        "and tell the ExoFOP team if it came from their site."
    )


class CorruptArchive(ArchiveError):
    """The file is not a ZIP archive, or it is damaged or truncated.

    ``kind`` is what :func:`exofop_mcp.site.responses.sniff_body` makes of the first bytes when the
    file is not a ZIP at all (``None`` otherwise).
    """

    code = "corrupt_archive"
    _default_hint = "The download is damaged or incomplete: delete it and download it again."

    def __init__(
        self,
        reason: str,
        *,
        archive: Path | str | None = None,
        member: str | None = None,
        hint: str | None = None,
        kind: BodyKind | None = None,
    ) -> None:
        self.kind = kind
        super().__init__(reason, archive=archive, member=member, hint=hint)


class UnsupportedArchive(ArchiveError):
    """The archive is valid but uses a feature we do not handle (encryption, exotic compression)."""

    code = "unsupported_archive"
    _default_hint = "Nothing was extracted; unpack it by hand with a tool that supports this feature."


class ExtractionIOError(ArchiveError, OSError):
    """Writing the extracted files failed (disk full, permissions, destination in the way).

    Also an :class:`OSError`; ``errno`` is copied from the underlying error.  The destination is
    left as it was.
    """

    code = "extraction_failed"
    _default_hint = "Check that the destination directory is writable and has free space."


# --------------------------------------------------------------------------------------------------
# Reading downloaded files
# --------------------------------------------------------------------------------------------------


class FileLimitError(ExofopMcpError):
    """A downloaded file past one of the caps on reading it: a count, size or dimension read from the
    file (a FITS ``TFIELDS``, ``NAXISn``, an ECSV header, a table's width) beyond its bound, or the
    work past its time budget.  Nothing more of the file is read; the message names the cap."""

    code = "over_limit"


class FileTooLargeError(FileLimitError):
    """A file past a cap on reading it whole: its size, the length of one of its lines, or its number
    of columns (:mod:`exofop_mcp.sandbox_files`); refused before it is held in memory."""


class FileWorkBusyError(ExofopMcpError):
    """Every thread that reads downloaded files is taken (one may be stuck on a hostile file); the
    other tools keep answering.  Try again in a little while."""

    code = "busy"
