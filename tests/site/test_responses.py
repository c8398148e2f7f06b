"""What ExoFOP sent: sniffing bodies, describing them for messages, reading HTML titles."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exofop_mcp.site.responses import SNIFF_BYTES, describe_bytes, html_title, sniff_body

HEADER = b"<!DOCTYPE html><html><head><title>ExoFOP</title></head><body><nav><a href='/login'>Login</a></nav>"


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (b"PK\x03\x04\x14\x00", "zip"),
        (b"PK\x05\x06" + bytes(18), "zip"),
        (b"", "empty"),
        (b" \r\n\t", "empty"),
        (b'<html><form method="post"><INPUT TYPE="Password" name="p"></form></html>', "html_login"),
        (b"\xef\xbb\xbf  <!doctype HTML><title>Log In</title><p>Please Log In</p>", "html_login"),
        (b"<html><body><h1>Sign in to ExoFOP</h1></body></html>", "html_login"),
        (HEADER + b"<p>There are No Files for this tag.</p></body></html>", "html_no_files"),
        (HEADER + b"<h1>Tag not found</h1></body></html>", "html_not_found"),
        (HEADER + b"<p>This target does not exist</p>", "html_not_found"),
        (b"<html><body>No such file or directory</body></html>", "html_not_found"),
        (HEADER + b"<p>Internal server error</p>", "html_other"),
        (HEADER + b"<p>Please log in to see this page</p>", "html_other"),
        (HEADER + b"<form action='/login.php'><input name='u'></form>", "html_login"),
        (HEADER + b"<button>Log in</button>", "html_login"),
        (b"<html><body><p>Maintenance</p></body></html>", "html_other"),
        (b"tic_id|toi|period\n123|456.01|3.2\n", "text"),
        (b"SIMPLE  =                    T / conforming FITS", "text"),
        (b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03", "binary"),
        (bytes(range(256)), "binary"),
        (b"a < b and c > d", "text"),
    ],
)
def test_sniff_body(body: bytes, kind: str) -> None:
    assert sniff_body(body) == kind


def test_describe_bytes() -> None:
    html = b"<!DOCTYPE html>\n<html>\n  <head><title>Error</title></head><body>" + b"x" * 1200
    text = describe_bytes(html)
    assert text.startswith("'<!DOCTYPE html> <html> <head><title>Error</title></head>")
    assert f"(HTML titled 'Error', {len(html):,} bytes)" in text
    assert describe_bytes(b"PK\x03\x04abc", total_size=1234) == "b'PK\\x03\\x04abc' (ZIP archive, 1,234 bytes)"
    assert describe_bytes(b"\x1f\x8b\x08") == "b'\\x1f\\x8b\\x08' (gzip data, 3 bytes)"
    assert describe_bytes(b"") == "nothing (0 bytes)"
    assert describe_bytes(b"\n") == "only whitespace (1 byte)"
    assert "FITS file" in describe_bytes(b"SIMPLE  =                    T")
    assert "\n" not in describe_bytes(b"line1\nline2\x07\x1b[31m")


@given(st.binary(max_size=300))
def test_sniff_and_describe_never_fail(body: bytes) -> None:
    assert sniff_body(body) in {
        "zip",
        "html_login",
        "html_no_files",
        "html_not_found",
        "html_other",
        "empty",
        "text",
        "binary",
    }
    description = describe_bytes(body)
    assert description.isprintable()
    assert len(description) < 200


@pytest.mark.parametrize(
    ("body", "title"),
    [
        (b"<html><head><title>Maintenance | ExoFOP-TESS</title></head></html>", "Maintenance | ExoFOP-TESS"),
        (b"<HTML><TITLE lang='en'>\n  Log   In\n</TITLE>", "Log In"),
        (b"\xef\xbb\xbf<title>caf\xc3\xa9</title>", "caf\u00e9"),
        (b"<html><title>   </title></html>", None),
        (b"<html><body>no title</body></html>", None),
        (b"", None),
        (b" " * SNIFF_BYTES + b"<title>too far</title>", None),
    ],
)
def test_html_title(body: bytes, title: str | None) -> None:
    assert html_title(body) == title
