"""The pool that reads downloaded files: never more threads than it has, a time limit per call that answers
the caller at once, a bounded wait for a thread, and a budget the work itself sees and obeys."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time

import pytest

from exofop_mcp.errors import FileLimitError, FileWorkBusyError
from exofop_mcp.file_work import Budget, FileWorkPool, check_budget, running_under

pytestmark = pytest.mark.anyio


async def test_stuck_work_holds_at_most_the_pools_threads_and_callers_are_answered() -> None:
    pool = FileWorkPool("test-files", workers=2, time_limit=0.5, queue_seconds=0.3)
    release = threading.Event()
    running = []

    def stuck() -> None:
        running.append(threading.current_thread().name)
        release.wait(30)

    try:
        started = time.monotonic()
        outcomes = await asyncio.gather(*(pool.run(stuck, what="stuck work") for _ in range(5)), return_exceptions=True)
        elapsed = time.monotonic() - started
        assert sorted(type(o).__name__ for o in outcomes) == ["FileLimitError"] * 2 + ["FileWorkBusyError"] * 3
        assert elapsed < 3.0
        assert len(running) == 2 and all(name.startswith("test-files") for name in running)
        with pytest.raises(FileWorkBusyError, match="all 2 threads"):  # still stuck: still busy
            await pool.run(lambda: None, what="more work")
    finally:
        release.set()
    await asyncio.sleep(0.2)
    assert await pool.run(lambda: 42, what="work after") == 42  # the threads came back
    pool.close()


async def test_the_work_sees_its_budget_stopped_when_the_caller_gives_up() -> None:
    pool = FileWorkPool("test-files", workers=1, time_limit=0.3, queue_seconds=5)
    checks_after_stop = threading.Event()

    def loop_with_checks() -> None:
        try:
            while True:
                check_budget()
                time.sleep(0.01)
        except FileLimitError:
            checks_after_stop.set()
            raise

    with pytest.raises(FileLimitError, match=r"0\.3 s budget"):
        await pool.run(loop_with_checks, what="The loop")
    assert await asyncio.to_thread(checks_after_stop.wait, 5)
    assert await pool.run(lambda: "free again", what="next") == "free again"
    pool.close()


def test_a_step_budget_ends_with_the_whole_works_budget() -> None:
    whole = Budget(60, "the whole")
    step = Budget(60, "a step", parent=whole)
    with running_under(step):
        check_budget()
        whole.stop()
        with pytest.raises(FileLimitError, match="the whole"):
            check_budget()
    check_budget()  # no budget outside the block


def test_a_thread_stuck_for_ever_does_not_keep_the_process_from_exiting() -> None:
    script = (
        "import asyncio, threading\n"
        "from exofop_mcp.file_work import FileWorkPool\n"
        "from exofop_mcp.errors import FileLimitError\n"
        "pool = FileWorkPool('stuck', workers=1, time_limit=0.2, queue_seconds=0.1)\n"
        "async def main():\n"
        "    try:\n"
        "        await pool.run(threading.Event().wait, what='a read that never returns')\n"
        "    except FileLimitError as exc:\n"
        "        print(exc.code)\n"
        "asyncio.run(main())\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0 and done.stdout.strip() == "over_limit", done.stderr
