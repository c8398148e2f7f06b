"""Running one command's answer to the terminal: the text (control characters shown escaped), or one line
of why not, and the exit status a script can act on."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import Coroutine
from typing import Any, TextIO

from exofop_mcp.errors import ExofopMcpError
from exofop_mcp.text_format import visible_text

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_INTERRUPTED = 130


def print_answer(main: Coroutine[Any, Any, str], out: TextIO, err: TextIO) -> int:
    """Run ``main`` and print the text it answers; a project error is one line on ``err`` (exit 1)."""
    from exofop_mcp.cli.terminal_output import for_terminal

    try:
        text = asyncio.run(main)
        out.write(visible_text(text) + "\n")
        out.flush()
    except ExofopMcpError as exc:
        err.write(f"exofop-mcp: {visible_text(for_terminal(str(exc)))}\n")
        return EXIT_FAILED
    except KeyboardInterrupt:
        err.write("exofop-mcp: interrupted.\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `... | head`: stop quietly
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return EXIT_OK
