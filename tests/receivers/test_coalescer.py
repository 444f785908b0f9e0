"""The gRPC receiver's Coalescer: what arrives while a batch is being handled goes into the
next batch together; each caller gets its own result; errors and cancelled callers."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from concurrent import futures

from gateway.receivers.grpc import Coalescer


class Handler:
    """Records each batch; the first one blocks until released, so that others pile up."""

    def __init__(self, fail: bool = False) -> None:
        self.batches: list[list[int]] = []
        self.release = threading.Event()
        self.fail = fail

    def __call__(self, items: Sequence[int]) -> list[str]:
        self.batches.append(list(items))
        if len(self.batches) == 1:
            assert self.release.wait(10)
        if self.fail:
            raise RuntimeError("the commit failed")
        return [f"done {item}" for item in items]


async def _run(handler: Handler, submit_while_busy: int) -> list[object]:
    loop = asyncio.get_running_loop()
    with futures.ThreadPoolExecutor(1) as workers:
        coalescer: Coalescer[int, str] = Coalescer(loop, workers, handler)
        first = asyncio.ensure_future(coalescer.submit(0))
        while not handler.batches:  # the first batch is being handled
            await asyncio.sleep(0.001)
        rest = [asyncio.ensure_future(coalescer.submit(n)) for n in range(1, submit_while_busy + 1)]
        for _ in range(5):  # let every callback the loop has run: none may start a batch
            await asyncio.sleep(0)
        assert len(handler.batches) == 1
        handler.release.set()
        return await asyncio.gather(first, *rest, return_exceptions=True)


def test_items_that_arrive_during_a_batch_go_together_into_the_next() -> None:
    handler = Handler()
    results = asyncio.run(_run(handler, submit_while_busy=5))
    assert handler.batches == [[0], [1, 2, 3, 4, 5]]
    assert results == [f"done {n}" for n in range(6)]  # each caller its own result


def test_a_failed_batch_fails_every_caller_in_it() -> None:
    handler = Handler(fail=True)
    results = asyncio.run(_run(handler, submit_while_busy=2))
    assert all(isinstance(r, RuntimeError) for r in results) and len(results) == 3


def test_a_caller_that_went_away_does_not_disturb_the_others() -> None:
    async def scenario() -> list[str]:
        handler = Handler()
        loop = asyncio.get_running_loop()
        with futures.ThreadPoolExecutor(1) as workers:
            coalescer: Coalescer[int, str] = Coalescer(loop, workers, handler)
            first = asyncio.ensure_future(coalescer.submit(0))
            while not handler.batches:
                await asyncio.sleep(0.001)
            gone, kept = coalescer.submit(1), coalescer.submit(2)
            assert isinstance(gone, asyncio.Future)
            gone.cancel()  # a client that hung up: its item is still handled
            handler.release.set()
            results = [await first, await kept]
        assert handler.batches == [[0], [1, 2]]
        return results

    assert asyncio.run(scenario()) == ["done 0", "done 2"]


def test_calls_that_arrive_together_share_the_first_batch_too() -> None:
    """The first batch starts after the callbacks already due, so a burst is one batch."""
    calls = 64

    async def scenario() -> tuple[int, list[str]]:
        batches: list[int] = []

        def handle(items: Sequence[int]) -> list[str]:
            batches.append(len(items))
            return [str(item) for item in items]

        loop = asyncio.get_running_loop()
        with futures.ThreadPoolExecutor(1) as workers:
            coalescer: Coalescer[int, str] = Coalescer(loop, workers, handle)
            results = await asyncio.gather(*(coalescer.submit(n) for n in range(calls)))
        return len(batches), list(results)

    batches, results = asyncio.run(scenario())
    assert results == [str(n) for n in range(calls)]
    assert batches == 1
