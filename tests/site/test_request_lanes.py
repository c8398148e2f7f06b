"""RequestLanes: the archive budget, and disk work that waits for the requests taking freed lanes."""

from __future__ import annotations

import asyncio

import pytest

from exofop_mcp.site.client import ExofopClient, RequestLanes

pytestmark = pytest.mark.anyio


async def test_requests_out_returns_at_once_when_nothing_waits_to_be_sent():
    lanes = RequestLanes(2)
    await asyncio.wait_for(lanes.requests_out(most=30.0), 5.0)


async def test_requests_out_waits_for_a_request_given_a_lane_until_it_is_sent():
    lanes = RequestLanes(2)
    sent = lanes.sending()
    waiter = asyncio.create_task(lanes.requests_out(most=30.0))
    await asyncio.sleep(0.05)
    assert not waiter.done()
    sent()
    sent()  # a second call changes nothing
    await asyncio.wait_for(waiter, 5.0)
    other = lanes.sending()
    assert not lanes._all_sent.is_set()
    other()
    assert lanes._all_sent.is_set()


async def test_requests_out_gives_up_after_its_bound():
    lanes = RequestLanes(1)
    lanes.sending()  # never sent
    await asyncio.wait_for(lanes.requests_out(most=0.01), 5.0)


async def test_a_request_woken_by_a_freed_lane_counts_before_the_disk_work_looks():
    # The lane's holder ends its transfer; the waiter takes the lane and is counted before the holder's
    # requests_out looks, so that the holder waits for the waiter's request to go out.
    lanes = RequestLanes(1)
    order: list[str] = []
    release = asyncio.Event()

    async def next_transfer() -> None:
        async with lanes.archive():
            sent = lanes.sending()
            order.append("next counted")
            await release.wait()
            order.append("next sent")
            sent()

    async def first_transfer() -> None:
        async with lanes.archive():
            await asyncio.sleep(0.01)
        waiting = asyncio.create_task(lanes.requests_out(most=30.0))
        await asyncio.sleep(0.05)
        order.append("disk work still waits" if not waiting.done() else "disk work began")
        release.set()
        await waiting
        order.append("disk work")

    holder = asyncio.create_task(first_transfer())
    await asyncio.sleep(0)
    await asyncio.gather(holder, next_transfer())
    assert order == ["next counted", "disk work still waits", "next sent", "disk work"]


async def test_an_archive_request_counts_as_sent_once_written_before_its_answer_comes(warm_settings, replica):
    replica.configure(latency=3.0)  # the headers come 3 s after the request
    async with ExofopClient(warm_settings) as client:

        async def fetch() -> int:
            async with client.stream_attempt("download_tag_files_zip.php", {"tag": 18493}) as response:
                await response.aread()
                return response.status_code

        task = asyncio.create_task(fetch())
        await asyncio.sleep(0)
        assert client.lanes._unsent == 1
        deadline = asyncio.get_running_loop().time() + 2.0
        while client.lanes._unsent and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.01)
        assert client.lanes._unsent == 0 and not task.done()  # sent, and still waiting for the answer
        assert await task == 200


async def test_a_burst_of_small_requests_keeps_every_lane_busy():
    # Twenty small requests at once, no download running: they go out (archives + 1) at a time, in
    # rounds, not one at a time once the archive lanes are taken.
    lanes = RequestLanes(4)

    async def request() -> None:
        async with lanes.small():
            await asyncio.sleep(0.05)

    started = asyncio.get_running_loop().time()
    await asyncio.gather(*(request() for _ in range(20)))
    elapsed = asyncio.get_running_loop().time() - started
    assert lanes.peak_in_flight == 5
    assert elapsed < 0.05 * 20 / 2  # one at a time would take a full second


async def test_small_requests_keep_to_their_own_lane_while_a_download_runs():
    lanes = RequestLanes(2)

    async def request() -> None:
        async with lanes.small():
            await asyncio.sleep(0.02)

    async with lanes.downloading():
        await asyncio.gather(*(request() for _ in range(5)))
    assert lanes.peak_in_flight == 1
