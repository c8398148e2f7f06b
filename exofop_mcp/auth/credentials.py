"""Where an ExoFOP username and password come from, in the user's own terminal.

In this order:

1. ``--credential-file PATH``: a file only its owner can read (``chmod 600``), either
   ``.txt`` with ``username=…`` and ``password=…`` lines or ``.yaml``/``.yml`` with
   ``username: …`` and ``password: …`` lines (a tiny subset of YAML, parsed here);
2. the environment variables ``EXOFOP_USERNAME`` and ``EXOFOP_PASSWORD``;
3. prompts on the terminal (the password without echo), only when stdin is a terminal.

The password never appears in an exception message, a ``repr`` or a log line; error
messages about a credential file name the file and the line number, never the line.
"""

from __future__ import annotations

import getpass as getpass_module
import logging
import os
import stat
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from exofop_mcp.errors import CredentialsError

log = logging.getLogger(__name__)

USERNAME_ENV = "EXOFOP_USERNAME"
PASSWORD_ENV = "EXOFOP_PASSWORD"

#: Credential files are a few lines; anything much bigger is not one.
MAX_CREDENTIAL_FILE_BYTES = 64 * 1024

TEXT_SUFFIXES = (".txt",)
YAML_SUFFIXES = (".yaml", ".yml")

NON_INTERACTIVE_HINT = (
    "To log in without a terminal, either put the account in a file only you can read and run "
    "`exofop-mcp login --credential-file PATH` (a .txt file with lines `username=NAME` and `password=SECRET`, "
    "then `chmod 600 PATH`), or set EXOFOP_USERNAME and EXOFOP_PASSWORD in the environment of "
    "`exofop-mcp login`."
)


@dataclass(frozen=True)
class Credentials:
    """An ExoFOP account; ``repr`` and ``str`` never show the password."""

    username: str
    password: str = field(repr=False)
    #: Where they came from, for messages: "credential file PATH", "environment" or "terminal prompt".
    source: str = "unknown"

    def __str__(self) -> str:
        return f"{self.username} (from {self.source})"

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("Credentials cannot be pickled (they hold a password).")


# --------------------------------------------------------------------------------------------------
# Credential files
# --------------------------------------------------------------------------------------------------


def read_credential_file(path: Path) -> Credentials:
    """Read a ``.txt`` or ``.yaml``/``.yml`` credential file; see the module docstring for the formats.

    Raises :class:`CredentialsError` when the file is missing, a directory, readable or writable by
    others than its owner, of an unknown format, or lacks a username or a password.
    """
    path = Path(path).expanduser()
    suffix = path.suffix.lower()
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise CredentialsError(
            f"The credential file {path} does not exist.", hint="Check the path given to --credential-file."
        ) from None
    except OSError as exc:
        raise CredentialsError(
            f"Could not read the credential file {path}: {exc.strerror or exc}.",
            hint="Check the path and its permissions.",
        ) from None
    if stat.S_ISDIR(info.st_mode):
        raise CredentialsError(
            f"{path} is a directory, not a credential file.",
            hint="Give the path of a .txt or .yaml file to --credential-file.",
        )
    if not stat.S_ISREG(info.st_mode):
        raise CredentialsError(f"{path} is not a regular file.", hint="Give the path of a .txt or .yaml file.")
    if suffix not in TEXT_SUFFIXES + YAML_SUFFIXES:
        raise CredentialsError(
            f"Unknown credential file format {path.suffix or '(no extension)'!r} for {path}.",
            hint="Use a .txt file with `username=NAME` and `password=SECRET` lines, or a .yaml/.yml file with "
            "`username: NAME` and `password: SECRET` lines.",
        )
    _check_private(path, info.st_mode)
    if info.st_size > MAX_CREDENTIAL_FILE_BYTES:
        raise CredentialsError(
            f"{path} is {info.st_size} bytes: too big to be a credential file.",
            hint="A credential file holds two lines, username and password.",
        )
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_CREDENTIAL_FILE_BYTES + 1)
    except OSError as exc:
        raise CredentialsError(
            f"Could not read the credential file {path}: {exc.strerror or exc}.",
            hint="Check that you own the file and can read it.",
        ) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CredentialsError(
            f"The credential file {path} is not UTF-8 text.", hint="Save it as plain UTF-8 text."
        ) from None
    values = _parse_yaml(text, path) if suffix in YAML_SUFFIXES else _parse_text(text, path)
    yaml = suffix in YAML_SUFFIXES
    example = "`username: NAME` and `password: SECRET`" if yaml else "`username=NAME` and `password=SECRET`"
    username = values.get("username", "")
    password = values.get("password", "")
    missing = [key for key in KNOWN_KEYS if key not in values]
    if missing:
        raise CredentialsError(
            f"The credential file {path} has no {' and no '.join(missing)} line.",
            hint=f"It needs the two lines {example}.",
        )
    empty = [key for key, value in (("username", username), ("password", password)) if not value]
    if empty:
        raise CredentialsError(
            f"The {' and '.join(empty)} in the credential file {path} {'is' if len(empty) == 1 else 'are'} empty.",
            hint="Fill in the value after the key.",
        )
    _check_username(username, f"the credential file {path}")
    return Credentials(username=username, password=password, source=f"credential file {path}")


def _check_private(path: Path, mode: int) -> None:
    if os.name == "nt":  # POSIX permission bits mean little on Windows
        return
    if mode & 0o077:
        who = []
        if mode & 0o070:
            who.append("group")
        if mode & 0o007:
            who.append("others")
        raise CredentialsError(
            f"The credential file {path} can be read or written by {' and '.join(who)} "
            f"(permissions {stat.filemode(mode)}); refusing to use a password others can see.",
            hint=f"Run `chmod 600 {_shell_quote(path)}` and try again.",
        )


def _shell_quote(path: Path) -> str:
    import shlex

    return shlex.quote(str(path))


KNOWN_KEYS = ("username", "password")


def _parse_text(text: str, path: Path) -> dict[str, str]:
    """``key=value`` lines; ``#`` starts a comment only at the start of a line (passwords may hold ``#``)."""
    values: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", ";")):
            continue
        key, sep, value = stripped.partition("=")
        if not sep:
            raise CredentialsError(
                f"Line {number} of the credential file {path} is not `key=value`.",
                hint="A .txt credential file holds `username=NAME` and `password=SECRET` lines.",
            )
        _store(values, key, _unquote_simple(value.strip()), number, path)
    return values


def _parse_yaml(text: str, path: Path) -> dict[str, str]:
    """Top-level ``key: value`` lines of a YAML mapping: plain, single- or double-quoted scalars."""
    values: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#") or stripped in ("---", "..."):
            continue
        if line[:1] in (" ", "\t"):
            continue  # nested content under an unrelated key
        key, sep, rest = stripped.partition(":")
        if not sep or (rest and rest[0] not in (" ", "\t")):
            raise CredentialsError(
                f"Line {number} of the credential file {path} is not `key: value`.",
                hint="A .yaml credential file holds `username: NAME` and `password: SECRET` lines.",
            )
        key = key.strip().strip("'\"")
        value = _yaml_scalar(rest.strip(), number, path)
        _store(values, key, value, number, path)
    return values


def _store(values: dict[str, str], key: str, value: str, number: int, path: Path) -> None:
    key = key.strip().lower()
    if key not in KNOWN_KEYS:
        return  # other settings users keep next to their account are ignored
    if key in values:
        raise CredentialsError(
            f"The credential file {path} gives the {key} twice (again on line {number}).",
            hint="Keep one line per key.",
        )
    values[key] = value


def _unquote_simple(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in ("'", '"'):
        return value[1:-1]
    return value


_YAML_ESCAPES = {"\\": "\\", '"': '"', "/": "/", "n": "\n", "t": "\t", "r": "\r", "0": "\0", " ": " "}


def _yaml_scalar(raw: str, number: int, path: Path) -> str:
    def bad(what: str) -> CredentialsError:
        return CredentialsError(
            f"Line {number} of the credential file {path}: {what}.",
            hint="Quote the value with single quotes if it contains special characters, e.g. password: 'a#b:c'.",
        )

    if not raw:
        return ""
    if raw[0] == "'":
        out: list[str] = []
        i = 1
        while i < len(raw):
            ch = raw[i]
            if ch == "'":
                if raw[i + 1 : i + 2] == "'":
                    out.append("'")
                    i += 2
                    continue
                _check_trailer(raw[i + 1 :], bad)
                return "".join(out)
            out.append(ch)
            i += 1
        raise bad("a single-quoted value is not closed")
    if raw[0] == '"':
        out = []
        i = 1
        while i < len(raw):
            ch = raw[i]
            if ch == "\\":
                escaped = raw[i + 1 : i + 2]
                if escaped not in _YAML_ESCAPES:
                    raise bad("unsupported escape sequence in a double-quoted value")
                out.append(_YAML_ESCAPES[escaped])
                i += 2
                continue
            if ch == '"':
                _check_trailer(raw[i + 1 :], bad)
                return "".join(out)
            out.append(ch)
            i += 1
        raise bad("a double-quoted value is not closed")
    # Plain scalar: a comment starts at " #"; everything else is the value.
    for marker in (" #", "\t#"):
        cut = raw.find(marker)
        if cut >= 0:
            raw = raw[:cut]
    value = raw.strip()
    if value[:1] in ("|", ">", "[", "{", "&", "*", "!"):
        raise bad("block, flow, anchor and tagged values are not supported")
    return value


def _check_trailer(rest: str, bad: Callable[[str], CredentialsError]) -> None:
    rest = rest.strip()
    if rest and not rest.startswith("#"):
        raise bad("unexpected text after a quoted value")


# --------------------------------------------------------------------------------------------------
# Resolution: file, environment, prompts
# --------------------------------------------------------------------------------------------------


def _check_username(username: str, where: str) -> None:
    if any(ch.isspace() for ch in username) or any(ord(ch) < 32 for ch in username):
        raise CredentialsError(
            f"The username from {where} contains spaces or control characters.",
            hint="Give the ExoFOP username exactly as you type it on the login page.",
        )


def _env(environ: Mapping[str, str], name: str) -> str | None:
    value = environ.get(name)
    return value if value is not None and value.strip() else None


def resolve_credentials(
    *,
    username: str | None = None,
    credential_file: Path | None = None,
    environ: Mapping[str, str] | None = None,
    interactive: bool | None = None,
    default_username: str | None = None,
    prompt: Callable[[str], str] = input,
    getpass: Callable[[str], str] = getpass_module.getpass,
) -> Credentials:
    """The account to log in with: credential file, then environment, then terminal prompts.

    ``username`` is ``--username``; with a credential file it must match the file's username.
    ``interactive`` defaults to whether stdin is a terminal; without one, and without a file or the
    environment variables, :class:`CredentialsError` explains how to log in non-interactively.
    ``default_username`` (e.g. the last user logged in) is offered at the username prompt.
    """
    env = os.environ if environ is None else environ
    if username is not None:
        username = username.strip()
        if not username:
            raise CredentialsError("The username given with --username is empty.")
        _check_username(username, "--username")

    if credential_file is not None:
        creds = read_credential_file(credential_file)
        if username is not None and username != creds.username:
            raise CredentialsError(
                f"--username {username} does not match the username in {creds.source}.",
                hint="Drop --username, or use the credential file of that account.",
            )
        return creds

    env_user = _env(env, USERNAME_ENV)
    env_password = env.get(PASSWORD_ENV) or None
    if env_user is not None:
        env_user = env_user.strip()
    if env_password is not None:
        # The password in the environment belongs to EXOFOP_USERNAME, or to --username when that is unset.
        owner = env_user if env_user is not None else username
        if owner is None:
            raise CredentialsError(
                f"{PASSWORD_ENV} is set but no username is known.",
                hint=f"Set {USERNAME_ENV} too, or pass --username NAME.",
            )
        if username is None or username == owner:
            _check_username(owner, USERNAME_ENV if env_user is not None else "--username")
            return Credentials(username=owner, password=env_password, source="environment")
        log.info("%s belongs to %s, not to %s: asking for the password instead", PASSWORD_ENV, owner, username)

    if not _is_interactive(interactive):
        raise CredentialsError(
            "Cannot ask for the ExoFOP password: standard input is not a terminal.", hint=NON_INTERACTIVE_HINT
        )

    name = username or env_user
    if name is None:
        suggestion = f" [{default_username}]" if default_username else ""
        try:
            typed = prompt(f"ExoFOP username{suggestion}: ").strip()
        except EOFError:
            raise CredentialsError("No username was entered.", hint=NON_INTERACTIVE_HINT) from None
        name = typed or default_username
        if not name:
            raise CredentialsError("No username was entered.", hint="Type your ExoFOP username at the prompt.")
        _check_username(name, "the prompt")
    try:
        password = getpass(f"ExoFOP password for {name}: ")
    except EOFError:
        raise CredentialsError("No password was entered.", hint=NON_INTERACTIVE_HINT) from None
    if not password:
        raise CredentialsError("The password is empty.", hint="Type your ExoFOP password at the prompt.")
    return Credentials(username=name, password=password, source="terminal prompt")


def _is_interactive(interactive: bool | None) -> bool:
    if interactive is not None:
        return interactive
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (ValueError, OSError):
        return False
