"""The project's exceptions.

Every error a user or an assistant can meet is one of these.  Each carries a
message that says what went wrong *and what to do next*; the MCP server and the
command line show ``str(error)`` and nothing else (no tracebacks, no secrets).
"""

from __future__ import annotations


class ExofopMcpError(Exception):
    """Base class of every error this package raises on purpose."""

    #: A short machine-readable code, stable across versions (shown to assistants).
    code = "error"

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(message if not hint else f"{message} {hint}")


class ConfigurationError(ExofopMcpError):
    """A setting (environment variable or flag) has an invalid value."""

    code = "configuration"


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


class ExofopUnavailableError(ExofopMcpError):
    """ExoFOP could not be reached (DNS, refused connection, timeout) after retries."""

    code = "unavailable"


class ExofopHTTPError(ExofopMcpError):
    """ExoFOP answered with an HTTP error status after retries."""

    code = "http_error"

    def __init__(self, message: str, status_code: int, *, hint: str | None = None) -> None:
        self.status_code = status_code
        super().__init__(message, hint=hint)


class ExofopResponseError(ExofopMcpError):
    """ExoFOP answered, but not with what the page is documented to return."""

    code = "unexpected_response"


class CredentialsError(ExofopMcpError):
    """No usable ExoFOP username and password: a bad credential file, or no way to ask for them."""

    code = "credentials"


class LoginFailedError(ExofopMcpError):
    """ExoFOP rejected the username or password."""

    code = "login_failed"


class LoginUnconfirmedError(ExofopMcpError):
    """ExoFOP answered the login, but neither with its welcome page nor with a rejection."""

    code = "login_unconfirmed"
