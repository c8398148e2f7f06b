"""Work on downloaded files (previews, light-curve parsing) apart from everything else.

Reading a file someone else placed in the sandbox may be slow or hostile.  Such work runs in its
own small pool of threads (:class:`FileWorkPool`), never in the event loop's shared executor, so a
stuck file can take at most that pool: downloads, logins and listings keep their threads.  Each call
has a time budget that the parsing loops check (:func:`check_budget`), and a caller stops waiting
when it is spent.
"""

from exofop_mcp.file_work.budget import Budget, check_budget, current_budget, running_under
from exofop_mcp.file_work.pool import FileWorkPool

__all__ = ["Budget", "FileWorkPool", "check_budget", "current_budget", "running_under"]
