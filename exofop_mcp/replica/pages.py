"""The HTML pages of the replica: login, index, target, error and "no such tag" pages."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape


def _page(title: str, body: str, user: str | None = None) -> bytes:
    status = (
        f'Logged in as <b>{escape(user)}</b> | <a href="/tess/logout.php">Logout</a>'
        if user
        else ('<a href="/tess/login.php?ref=%2Ftess%2F">Login</a>')
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{escape(title)} | ExoFOP-TESS</title>
<link rel="stylesheet" href="/tess/css/exofop.css">
</head>
<body>
<div id="header"><a href="/tess/index.php">ExoFOP-TESS</a>
<span class="login-status">{status}</span></div>
<div id="content">
{body}
</div>
<div id="footer">ExoFOP is operated by the NASA Exoplanet Science Institute (NExScI), IPAC/Caltech.</div>
</body>
</html>
""".encode()


def login_page(ref: str = "/tess/", message: str = "") -> bytes:
    notice = f'<p class="error">{escape(message)}</p>\n' if message else ""
    body = f"""<h2>Login</h2>
{notice}<p>Some data are proprietary to the TFOP working group for 12 months. Please log in.</p>
<form name="login" method="post" action="/tess/password_check.php">
<input type="hidden" name="ref" value="login_user">
<input type="hidden" name="ref_page" value="{escape(ref)}">
<label for="username">Username</label> <input type="text" id="username" name="username" size="20"><br>
<label for="password">Password</label> <input type="password" id="password" name="password" size="20"><br>
<input type="submit" value="Login">
</form>
<p><a href="/tess/forgot_password.php">Forgot your password?</a></p>"""
    return _page("Login", body)


def invalid_login_page(ref: str) -> bytes:
    return login_page(ref, "Invalid username or password. Please try again.")


def index_page(user: str | None) -> bytes:
    greeting = f"<p>Welcome back, {escape(user)}.</p>" if user else "<p>You are not logged in.</p>"
    body = f"""<h2>ExoFOP-TESS</h2>
{greeting}
<ul>
<li><a href="/tess/view_toi.php">TOIs</a> (<a href="/tess/download_toi.php?sort=toi&amp;output=pipe">download</a>)</li>
<li><a href="/tess/download_tseries.php?output=pipe">Time series observations</a></li>
<li><a href="/tess/download_spect.php?output=pipe">Spectroscopy observations</a></li>
<li><a href="/tess/download_imaging.php?output=pipe">Imaging observations</a></li>
</ul>"""
    return _page("Home", body, user)


def target_page(tic: int, tois: Sequence[str], names: Sequence[str], counts: dict[str, int], user: str | None) -> bytes:
    toi_list = ", ".join(f"TOI-{escape(toi)}" for toi in tois) or "none"
    name_list = ", ".join(escape(name) for name in names) or "none"
    body = f"""<h2>TIC {tic}</h2>
<table class="overview">
<tr><th>TIC ID</th><td>{tic}</td></tr>
<tr><th>TOIs</th><td>{toi_list}</td></tr>
<tr><th>Other names</th><td>{name_list}</td></tr>
<tr><th>Time series</th><td>{counts.get("tseries", 0)}</td></tr>
<tr><th>Spectroscopy</th><td>{counts.get("spect", 0)}</td></tr>
<tr><th>Imaging</th><td>{counts.get("imaging", 0)}</td></tr>
</table>
<p><a href="/tess/download_tseries.php?target={tic}&amp;output=pipe">Time series (pipe)</a> |
<a href="/tess/download_filelist.php?id={tic}">Files</a> |
<a href="/tess/download_files_zip.php?id={tic}">Download all files</a></p>"""
    return _page(f"TIC {tic}", body, user)


def no_such_tag_page(tag: str) -> bytes:
    return _page("Tag", f"<h2>Tag {escape(tag)}</h2>\n<p>No tag found with this number: {escape(tag)}.</p>")


def no_files_page(tag: int) -> bytes:
    return _page("Tag", f"<h2>Tag {tag}</h2>\n<p>There are no files associated with tag {tag}.</p>")


def no_star_files_page(tic: int) -> bytes:
    return _page("Files", f"<h2>TIC {tic}</h2>\n<p>There are no files associated with TIC {tic}.</p>")


def no_such_file_page(file_id: str) -> bytes:
    return _page("File", f"<h2>File</h2>\n<p>No file found with id {escape(file_id)}.</p>")


def error_page(status: int) -> bytes:
    titles = {
        429: "Too Many Requests",
        500: "Internal Server Error",
        502: "Bad Gateway",
        503: "Service Unavailable",
        404: "Not Found",
    }
    title = titles.get(status, "Error")
    return f"""<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">
<html><head>
<title>{status} {title}</title>
</head><body>
<h1>{title}</h1>
<p>The server could not complete your request. Please try again later.</p>
</body></html>
""".encode()


def candidates_page(target: str, tics: Sequence[int]) -> bytes:
    """gototicid.php without ``&json`` for a name matching several stars: a ``table.tfop`` of candidates."""
    rows = "\n".join(f'<tr><td><a href="/tess/target.php?id={tic}">TIC {tic}</a></td></tr>' for tic in tics)
    body = f"""<h2>Several targets match {escape(target)}</h2>
<table class="tfop">
<tr><th>Target</th></tr>
{rows}
</table>"""
    return _page("Select a target", body)


def not_found_page(path: str) -> bytes:
    return f"""<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">
<html><head>
<title>404 Not Found</title>
</head><body>
<h1>Not Found</h1>
<p>The requested URL {escape(path)} was not found on this server.</p>
</body></html>
""".encode()


def maintenance_page() -> bytes:
    """What the TOI download answers under the ``html`` quirk: a page where a table was expected."""
    return _page("Maintenance", "<h2>Scheduled maintenance</h2>\n<p>ExoFOP is being updated. Back soon.</p>")


def no_tic_object_page(target: str) -> bytes:
    """``target.php`` for an id the site does not know (also when ``&json`` was asked): a page, not JSON."""
    return _page("Target", f"<p>No TIC object found for {escape(target)}.</p>")
