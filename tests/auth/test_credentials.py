"""Where the username and password come from: credential files, the environment, terminal prompts."""

from __future__ import annotations

import io
import os
import pickle
import sys
from pathlib import Path

import pytest

from exofop_mcp.auth.credentials import Credentials, read_credential_file, resolve_credentials
from exofop_mcp.errors import CredentialsError

SECRET = "Pw-7f3a!k9#zz=q"


def write(path: Path, text: str | bytes, mode: int = 0o600) -> Path:
    data = text.encode("utf-8") if isinstance(text, str) else text
    path.write_bytes(data)
    os.chmod(path, mode)
    return path


def assert_no_secret(exc: BaseException, secret: str = SECRET) -> None:
    assert secret not in str(exc)
    assert secret not in repr(exc)
    hint = getattr(exc, "hint", None) or ""
    assert secret not in hint


# -- .txt -----------------------------------------------------------------------------------------------


def test_txt_file(tmp_path: Path) -> None:
    path = write(tmp_path / "exofop.txt", f"username=alice\npassword={SECRET}\n")
    creds = read_credential_file(path)
    assert creds.username == "alice"
    assert creds.password == SECRET
    assert str(path) in creds.source


def test_txt_tolerates_crlf_comments_blank_lines_quotes_and_spaces(tmp_path: Path) -> None:
    text = (
        f"\ufeff# my ExoFOP account\r\n\r\n  username = 'alice'  \r\n; another comment\r\npassword = \"{SECRET}\"\r\n"
    )
    creds = read_credential_file(write(tmp_path / "a.txt", text))
    assert (creds.username, creds.password) == ("alice", SECRET)


def test_txt_keeps_equals_and_hash_inside_the_password(tmp_path: Path) -> None:
    creds = read_credential_file(write(tmp_path / "a.txt", "password=a=b # c\nusername=alice\n"))
    assert creds.password == "a=b # c"


def test_txt_ignores_unknown_keys_and_key_case(tmp_path: Path) -> None:
    creds = read_credential_file(write(tmp_path / "a.txt", f"USERNAME=alice\nPassword={SECRET}\ngroup=tfopwg\n"))
    assert (creds.username, creds.password) == ("alice", SECRET)


def test_txt_bad_line_names_the_line_not_its_content(tmp_path: Path) -> None:
    lone = "Hunter2-lonely-password"
    path = write(tmp_path / "a.txt", f"username=alice\n{lone}\n")
    with pytest.raises(CredentialsError, match="Line 2") as info:
        read_credential_file(path)
    assert_no_secret(info.value, lone)


# -- .yaml ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".yaml", ".yml"])
def test_yaml_file(tmp_path: Path, suffix: str) -> None:
    creds = read_credential_file(write(tmp_path / f"exofop{suffix}", f"username: alice\npassword: '{SECRET}'\n"))
    assert (creds.username, creds.password) == ("alice", SECRET)


def test_yaml_subset(tmp_path: Path) -> None:
    text = (
        "\ufeff---\r\n"
        "# ExoFOP\r\n"
        "username: alice   # the login name\r\n"
        "\r\n"
        'password: "a\\"b\\\\c #d"  # comment after a quoted value\r\n'
        "other:\r\n"
        "  nested: ignored\r\n"
    )
    creds = read_credential_file(write(tmp_path / "a.yaml", text))
    assert creds.username == "alice"
    assert creds.password == 'a"b\\c #d'


def test_yaml_single_quotes_double_to_escape(tmp_path: Path) -> None:
    creds = read_credential_file(write(tmp_path / "a.yml", "username: 'alice'\npassword: 'it''s # ok'\n"))
    assert creds.password == "it's # ok"


def test_yaml_plain_value_keeps_hash_without_space(tmp_path: Path) -> None:
    creds = read_credential_file(write(tmp_path / "a.yml", "username: alice\npassword: ab#cd:ef\n"))
    assert creds.password == "ab#cd:ef"


@pytest.mark.parametrize(
    "line",
    [
        "password: 'not closed",
        'password: "not closed',
        "password: [a, b]",
        "password: |",
        "password:no-space",
        "just some words",
    ],
)
def test_yaml_unsupported_or_broken(tmp_path: Path, line: str) -> None:
    with pytest.raises(CredentialsError, match="Line 2"):
        read_credential_file(write(tmp_path / "a.yaml", f"username: alice\n{line}\n"))


# -- bad files ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("username=alice\n", "no password"),
        (f"password={SECRET}\n", "no username"),
        ("", "no username and no password"),
        ("# only a comment\n", "no username and no password"),
        ("username=alice\npassword=\n", "password .* is empty"),
        (f"username=\npassword={SECRET}\n", "username .* is empty"),
        ("username=alice\npassword=''\n", "password .* is empty"),
        (f"username=alice\npassword={SECRET}\npassword=x\n", "twice"),
        (f"username=al ice\npassword={SECRET}\n", "spaces"),
    ],
)
def test_missing_empty_or_odd_values(tmp_path: Path, text: str, match: str) -> None:
    with pytest.raises(CredentialsError, match=match) as info:
        read_credential_file(write(tmp_path / "a.txt", text))
    assert_no_secret(info.value)


def test_yaml_missing_password(tmp_path: Path) -> None:
    with pytest.raises(CredentialsError, match="no password") as info:
        read_credential_file(write(tmp_path / "a.yaml", "username: alice\n"))
    assert "password: SECRET" in str(info.value)


@pytest.mark.skipif(os.name == "nt", reason="POSIX permissions")
@pytest.mark.parametrize(
    ("mode", "who"), [(0o644, "group and others"), (0o640, "group"), (0o604, "others"), (0o620, "group")]
)
def test_refuses_files_others_can_read_or_write(tmp_path: Path, mode: int, who: str) -> None:
    path = write(tmp_path / "exofop.txt", f"username=alice\npassword={SECRET}\n", mode)
    with pytest.raises(CredentialsError) as info:
        read_credential_file(path)
    message = str(info.value)
    assert f"by {who} " in message
    assert f"chmod 600 {path}" in message
    assert_no_secret(info.value)


@pytest.mark.skipif(os.name == "nt", reason="POSIX permissions")
def test_chmod_hint_quotes_paths_with_spaces(tmp_path: Path) -> None:
    path = write(tmp_path / "my secrets.txt", "username=alice\npassword=x\n", 0o644)
    with pytest.raises(CredentialsError, match="chmod 600 '"):
        read_credential_file(path)


def test_missing_file_directory_and_unknown_format(tmp_path: Path) -> None:
    with pytest.raises(CredentialsError, match="does not exist"):
        read_credential_file(tmp_path / "nope.txt")
    folder = tmp_path / "dir.txt"
    folder.mkdir()
    with pytest.raises(CredentialsError, match="is a directory"):
        read_credential_file(folder)
    with pytest.raises(CredentialsError, match=r"Unknown credential file format '\.json'"):
        read_credential_file(write(tmp_path / "a.json", '{"username": "alice"}'))
    with pytest.raises(CredentialsError, match="no extension"):
        read_credential_file(write(tmp_path / "exofop", "username=alice\npassword=x\n"))


def test_not_utf8_and_too_big(tmp_path: Path) -> None:
    with pytest.raises(CredentialsError, match="not UTF-8"):
        read_credential_file(write(tmp_path / "a.txt", b"username=alice\npassword=\xff\xfe\n"))
    with pytest.raises(CredentialsError, match="too big"):
        read_credential_file(write(tmp_path / "b.txt", "#" * 70_000))


# -- the Credentials object ----------------------------------------------------------------------------


def test_credentials_never_show_the_password() -> None:
    creds = Credentials("alice", SECRET, source="environment")
    assert SECRET not in repr(creds)
    assert SECRET not in str(creds)
    assert SECRET not in f"{creds}"
    assert "alice" in repr(creds)
    with pytest.raises(TypeError):
        pickle.dumps(creds)


# -- resolution order -----------------------------------------------------------------------------------


def test_file_wins_over_environment(tmp_path: Path) -> None:
    path = write(tmp_path / "a.txt", "username=alice\npassword=from-file\n")
    env = {"EXOFOP_USERNAME": "bob", "EXOFOP_PASSWORD": "from-env"}
    creds = resolve_credentials(credential_file=path, environ=env, interactive=False)
    assert (creds.username, creds.password) == ("alice", "from-file")


def test_username_must_match_the_file(tmp_path: Path) -> None:
    path = write(tmp_path / "a.txt", f"username=alice\npassword={SECRET}\n")
    with pytest.raises(CredentialsError, match="does not match") as info:
        resolve_credentials(username="bob", credential_file=path, environ={}, interactive=False)
    assert_no_secret(info.value)
    assert resolve_credentials(username="alice", credential_file=path, environ={}).password == SECRET


def test_environment_variables() -> None:
    env = {"EXOFOP_USERNAME": " alice ", "EXOFOP_PASSWORD": SECRET}
    creds = resolve_credentials(environ=env, interactive=False)
    assert (creds.username, creds.password, creds.source) == ("alice", SECRET, "environment")


def test_environment_password_with_username_flag() -> None:
    creds = resolve_credentials(username="alice", environ={"EXOFOP_PASSWORD": SECRET}, interactive=False)
    assert (creds.username, creds.password) == ("alice", SECRET)


def test_environment_password_without_any_username() -> None:
    with pytest.raises(CredentialsError, match="no username is known") as info:
        resolve_credentials(environ={"EXOFOP_PASSWORD": SECRET}, interactive=True)
    assert_no_secret(info.value)


def test_environment_password_of_another_user_is_not_used() -> None:
    env = {"EXOFOP_USERNAME": "alice", "EXOFOP_PASSWORD": SECRET}
    with pytest.raises(CredentialsError, match="not a terminal"):
        resolve_credentials(username="bob", environ=env, interactive=False)
    asked: list[str] = []

    def fake_getpass(text: str) -> str:
        asked.append(text)
        return "bobs-password"

    creds = resolve_credentials(username="bob", environ=env, interactive=True, getpass=fake_getpass)
    assert (creds.username, creds.password) == ("bob", "bobs-password")
    assert asked == ["ExoFOP password for bob: "]


def test_empty_environment_values_count_as_unset() -> None:
    with pytest.raises(CredentialsError, match="not a terminal"):
        resolve_credentials(environ={"EXOFOP_USERNAME": "", "EXOFOP_PASSWORD": ""}, interactive=False)


def test_prompts_in_a_terminal() -> None:
    prompts: list[str] = []

    def fake_input(text: str) -> str:
        prompts.append(text)
        return "  alice "

    def fake_getpass(text: str) -> str:
        prompts.append(text)
        return SECRET

    creds = resolve_credentials(environ={}, interactive=True, prompt=fake_input, getpass=fake_getpass)
    assert (creds.username, creds.password, creds.source) == ("alice", SECRET, "terminal prompt")
    assert prompts == ["ExoFOP username: ", "ExoFOP password for alice: "]


def test_prompt_offers_the_last_user() -> None:
    prompts: list[str] = []

    def fake_input(text: str) -> str:
        prompts.append(text)
        return ""

    creds = resolve_credentials(
        environ={}, interactive=True, default_username="carol", prompt=fake_input, getpass=lambda _: "pw"
    )
    assert creds.username == "carol"
    assert prompts == ["ExoFOP username [carol]: "]


def test_username_from_environment_skips_the_username_prompt() -> None:
    def no_input(text: str) -> str:
        raise AssertionError("should not ask for the username")

    creds = resolve_credentials(
        environ={"EXOFOP_USERNAME": "alice"}, interactive=True, prompt=no_input, getpass=lambda _: "pw"
    )
    assert creds.username == "alice"


def test_empty_or_aborted_prompts() -> None:
    with pytest.raises(CredentialsError, match="password is empty"):
        resolve_credentials(username="alice", environ={}, interactive=True, getpass=lambda _: "")
    with pytest.raises(CredentialsError, match="No username"):
        resolve_credentials(environ={}, interactive=True, prompt=lambda _: "", getpass=lambda _: "pw")

    def eof(_: str) -> str:
        raise EOFError

    with pytest.raises(CredentialsError, match="No password"):
        resolve_credentials(username="alice", environ={}, interactive=True, getpass=eof)
    with pytest.raises(CredentialsError, match="No username"):
        resolve_credentials(environ={}, interactive=True, prompt=eof)


def test_refuses_to_prompt_without_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("alice\nsecret\n"))

    def never(_: str) -> str:
        raise AssertionError("must not prompt without a terminal")

    with pytest.raises(CredentialsError) as info:
        resolve_credentials(environ={}, prompt=never, getpass=never)
    message = str(info.value)
    assert "not a terminal" in message
    assert "--credential-file" in message
    assert "EXOFOP_USERNAME" in message and "EXOFOP_PASSWORD" in message
    assert "chmod 600" in message


def test_bad_username_flag() -> None:
    with pytest.raises(CredentialsError, match="empty"):
        resolve_credentials(username="  ", environ={}, interactive=False)
    with pytest.raises(CredentialsError, match="spaces"):
        resolve_credentials(username="a b", environ={}, interactive=False)
