"""``exofop-mcp doctor``: does the configured ExoFOP site still behave the way exofop-mcp assumes?

Each check asks the site one small question and judges the answer with the same code the tools use
(:func:`~exofop_mcp.site.pipe_table.check_pipe_table`, :func:`~exofop_mcp.site.pipe_table.read_pipe_table`, the
record models, :func:`~exofop_mcp.site.catalog.parse_toi_table`, :func:`~exofop_mcp.site.responses.sniff_body`
and :func:`~exofop_mcp.downloads.archive_extraction.inspect_zip`), so a PASS here means the tools will understand
the site, and a FAIL names what changed: what was expected, what came back (status, first bytes,
columns) and a block to paste into a bug report.

The checks, in order:

``reachable``
    ``<base>/tess/`` answers; DNS, refused connections, TLS and timeouts are told apart.
``toi_table`` / ``toi_table_full``
    ``download_toi.php?toi=N&output=pipe`` parses with the columns the catalog reads, has a row for
    the host and its RA/Dec convert; with ``full``, the whole table parses and has thousands of rows.
``name_resolver``
    ``gototicid.php?target=...&json`` answers ``{"status":"OK","num":1,"TIC":"..."}``.
``name_shapes``
    how gototicid answers a name matching several stars and a TIC-form target (reported as shapes).
``time_series``, ``spectroscopy``, ``imaging``, ``stellar_companions``
    the star's observation tables parse; missing required columns fail, missing documented columns
    and unexpected extra columns warn.  Every table check also reports what its text looked like
    (continuation lines joined, ``|`` inside free text, HTML, stray header spaces, bare decimals, blank
    lines at the end: the ``free_text`` and ``table_layout`` shapes).
``observing_notes``
    ``download_obsnotes.php?tid=TIC&output=pipe`` parses with its documented header (a star without
    notes answers the header alone).
``target_json``
    ``target.php?id=TIC&json`` parses, and its shape (keys, star names, degree strings, provenance
    header) is reported.
``tag_download``
    one public tag's ``download_tag_files_zip.php`` answer is a valid zip (checked in a temporary
    directory that is removed afterwards); whether ``Content-Length`` was sent is reported.
``login`` / ``session``
    the stored login state and its expiry; with ``check_session``, one request asks the site whether
    the stored session is still accepted.
``login_answer``
    with ``try_login``: where a login lands (credentials from a file or the environment, never a prompt).
``settings``
    the data, cache and config directories exist or can be created, and are writable.

Nothing is written outside a temporary directory, the login state is only read, and no cookie or
password ever appears in a report.  Plain async over the core: no MCP imports.

The package, by job: :mod:`~exofop_mcp.doctor.report` (the report's models and the options),
:mod:`~exofop_mcp.doctor.probe` (asking the site through the tools' own client, and describing the answer),
:mod:`~exofop_mcp.doctor.columns` (the documented columns), :mod:`~exofop_mcp.doctor.site_checks`,
:mod:`~exofop_mcp.doctor.shape_checks`, :mod:`~exofop_mcp.doctor.text_checks` and
:mod:`~exofop_mcp.doctor.tag_check` (the checks that talk to ExoFOP), :mod:`~exofop_mcp.doctor.local_checks`
(login state, directories, versions), :mod:`~exofop_mcp.doctor.runner` (running them, :func:`run_doctor`)
and :mod:`~exofop_mcp.doctor.render` (the text output).  Why a request got no answer is told by
:func:`exofop_mcp.site.transport_errors.describe_transport_error`, as for every other caller.
"""

from exofop_mcp.doctor.columns import DOCUMENTED_COLUMNS, OBSERVATION_RECORDS
from exofop_mcp.doctor.render import render_text, report_block
from exofop_mcp.doctor.report import CHECK_TITLES, SITE_CHECKS, Check, CheckStatus, DoctorOptions, DoctorReport
from exofop_mcp.doctor.runner import Doctor, run_doctor

__all__ = [
    "CHECK_TITLES",
    "DOCUMENTED_COLUMNS",
    "OBSERVATION_RECORDS",
    "SITE_CHECKS",
    "Check",
    "CheckStatus",
    "Doctor",
    "DoctorOptions",
    "DoctorReport",
    "render_text",
    "report_block",
    "run_doctor",
]
