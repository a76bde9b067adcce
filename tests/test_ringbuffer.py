"""The sample ring: bounded memory, newest-N reads, wrap-around, and a reader that never blocks.

Every sample written here carries its own absolute index: ``t = i``, ``current = 2 i + 0.5`` and
``voltage = -i``. A read is then correct exactly when its ``t`` values are consecutive indices and
the three rows agree with each other — anything torn or overwritten mid-copy breaks one of those.
"""

from __future__ import annotations

import random
import sys
import threading
import time
from collections import deque
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from console.drivers import SampleBlock
from console.engine.ringbuffer import SampleRing


def indexed_block(first: int, count: int) -> SampleBlock:
    """``count`` samples whose values encode their absolute indices ``first``…``first+count-1``."""
    index = np.arange(first, first + count, dtype=np.float64)
    return SampleBlock(index, 2.0 * index + 0.5, -index)


def consistency_problems(block: SampleBlock) -> list[str]:
    """Why ``block`` is not a run of consecutive, untorn samples (empty when it is)."""
    found = []
    if not (block.t.shape == block.current_ua.shape == block.voltage_v.shape):
        found.append(f"rows of different lengths {block.t.shape}, {block.current_ua.shape}")
        return found
    if len(block) > 1 and not np.all(np.diff(block.t) == 1.0):
        found.append(f"timestamps not consecutive: {block.t.tolist()}")
    if not np.array_equal(block.current_ua, 2.0 * block.t + 0.5):
        found.append("current row does not belong to the timestamps (torn write)")
    if not np.array_equal(block.voltage_v, -block.t):
        found.append("voltage row does not belong to the timestamps (torn write)")
    return found


def filled(capacity: int, samples: int) -> SampleRing:
    """A ring of ``capacity`` after ``samples`` indexed samples written one block at a time."""
    ring = SampleRing(capacity)
    ring.append(indexed_block(0, samples))
    return ring


# -- capacity ----------------------------------------------------------------------------------


@pytest.mark.parametrize("capacity", [0, -1, -100])
def test_capacity_below_one_is_refused(capacity: int) -> None:
    """A ring needs room for at least one sample."""
    with pytest.raises(ValueError, match="at least 1"):
        SampleRing(capacity)


def test_memory_is_fixed_however_much_is_written() -> None:
    """Ten times the capacity written: the ring holds exactly its capacity, in the same array."""
    ring = SampleRing(100)
    storage = ring._data
    for first in range(0, 1_000, 7):
        ring.append(indexed_block(first, 7))
    assert ring._data is storage
    assert storage.shape == (3, 100)
    assert len(ring) == 100
    assert ring.total_written == 1_001
    assert len(ring.latest(10_000)) == 100


def test_empty_ring_reads_nothing() -> None:
    """Nothing written: length 0 and empty reads, whatever is asked."""
    ring = SampleRing(8)
    assert len(ring) == 0
    assert ring.total_written == 0
    assert len(ring.latest(5)) == 0
    block, next_index = ring.since(0)
    assert len(block) == 0
    assert next_index == 0


def test_an_empty_block_changes_nothing() -> None:
    """Appending zero samples leaves the counters and contents as they were."""
    ring = filled(8, 5)
    ring.append(SampleBlock.empty())
    assert ring.total_written == 5
    assert ring.latest(8).t.tolist() == [0, 1, 2, 3, 4]


# -- latest(n) ---------------------------------------------------------------------------------


def test_latest_returns_the_newest_n_oldest_first() -> None:
    """After 0..9, latest(3) is 7, 8, 9 in every row; latest(0) is empty; latest(50) is all."""
    ring = filled(16, 10)
    newest = ring.latest(3)
    assert newest.t.tolist() == [7.0, 8.0, 9.0]
    assert newest.current_ua.tolist() == [14.5, 16.5, 18.5]
    assert newest.voltage_v.tolist() == [-7.0, -8.0, -9.0]
    assert len(ring.latest(0)) == 0
    assert ring.latest(50).t.tolist() == list(range(10))


def test_latest_across_the_wrap_point_is_in_order() -> None:
    """Written past the end of the array, the newest samples still come back oldest first."""
    ring = SampleRing(10)
    ring.append(indexed_block(0, 7))
    ring.append(indexed_block(7, 6))  # wraps: indices 10, 11, 12 land at slots 0, 1, 2
    block = ring.latest(10)
    assert block.t.tolist() == list(range(3, 13))
    assert consistency_problems(block) == []


def test_a_block_larger_than_the_ring_keeps_its_newest_part() -> None:
    """25 samples into a ring of 10: the last 10 remain, and the counter counts all 25."""
    ring = SampleRing(10)
    ring.append(indexed_block(0, 3))
    ring.append(indexed_block(3, 25))
    assert ring.total_written == 28
    assert ring.latest(10).t.tolist() == list(range(18, 28))


def test_latest_returns_a_copy() -> None:
    """A block already read is not changed by later writes, and changing it does not reach the ring."""
    ring = filled(4, 4)
    block = ring.latest(4)
    block.t[:] = -1.0
    ring.append(indexed_block(4, 4))
    assert ring.latest(4).t.tolist() == [4.0, 5.0, 6.0, 7.0]
    fresh = filled(4, 4)
    kept = fresh.latest(4)
    fresh.append(indexed_block(4, 4))
    assert kept.t.tolist() == [0.0, 1.0, 2.0, 3.0]


def test_since_returns_each_sample_once_when_polled() -> None:
    """since(index) gives what came after the last poll, and the index for the next poll."""
    ring = SampleRing(10)
    ring.append(indexed_block(0, 4))
    first, next_index = ring.since(0)
    assert first.t.tolist() == [0, 1, 2, 3]
    assert next_index == 4
    ring.append(indexed_block(4, 3))
    second, next_index = ring.since(next_index)
    assert second.t.tolist() == [4, 5, 6]
    assert next_index == 7
    nothing, next_index = ring.since(next_index)
    assert len(nothing) == 0
    assert next_index == 7


def test_since_after_falling_behind_gives_the_newest_capacity() -> None:
    """A reader more than a ring behind gets the newest ``capacity`` samples."""
    ring = filled(10, 35)
    block, next_index = ring.since(3)
    assert block.t.tolist() == list(range(25, 35))
    assert next_index == 35


@settings(max_examples=200, deadline=None)
@given(
    capacity=st.integers(1, 64),
    sizes=st.lists(st.integers(0, 150), max_size=30),
    queries=st.lists(st.integers(0, 200), min_size=1, max_size=6),
)
def test_latest_matches_a_reference_deque(
    capacity: int, sizes: list[int], queries: list[int]
) -> None:
    """Random block sizes (empty, small, larger than the ring): latest(k) is the deque's last k."""
    ring = SampleRing(capacity)
    reference: deque[int] = deque(maxlen=capacity)
    written = 0
    for size in sizes:
        ring.append(indexed_block(written, size))
        reference.extend(range(written, written + size))
        written += size
        assert ring.total_written == written
        assert len(ring) == len(reference)
        for count in queries:
            block = ring.latest(count)
            expected = list(reference)[len(reference) - min(count, len(reference)) :]
            assert block.t.tolist() == expected
            assert consistency_problems(block) == []


# -- concurrency -------------------------------------------------------------------------------


def test_a_reader_racing_a_writer_never_sees_torn_or_out_of_order_data() -> None:
    """A writer thread and a reader thread at full speed: every read is consecutive and untorn."""
    ring = SampleRing(97)  # small and odd: wraps constantly, at varying offsets
    done = threading.Event()
    problems: list[str] = []
    reads = 0

    def reader() -> None:
        nonlocal reads
        while not done.is_set():
            for count in (1, 10, 50, 97, 500):
                block = ring.latest(count)
                written_after = ring.total_written
                reads += 1
                found = consistency_problems(block)
                if len(block) > min(count, ring.capacity):
                    found.append(f"latest({count}) returned {len(block)} samples")
                if len(block) and block.t[-1] >= written_after:
                    found.append(f"sample {block.t[-1]} read before it was written")
                if found:
                    problems.extend(found)
                    done.set()
                    return

    rng = random.Random(20240601)
    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as the interpreter allows
    thread = threading.Thread(target=reader, daemon=True)
    written = 0
    try:
        thread.start()
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline and not done.is_set():
            size = rng.choice((1, 2, 3, 13, 50, 96, 97, 98, 300))
            ring.append(indexed_block(written, size))
            written += size
    finally:
        done.set()
        thread.join(5.0)
        sys.setswitchinterval(switch_interval)
    assert not thread.is_alive()
    assert problems == []
    assert reads > 100
    assert ring.total_written == written


def park_reader_in_copy(ring: SampleRing) -> tuple[threading.Event, threading.Event]:
    """Make the next read stop just before it copies; returns (entered, release) events."""
    entered, release = threading.Event(), threading.Event()
    original: Callable[[int, int], SampleBlock] = ring._copy

    def parked_copy(start: int, end: int) -> SampleBlock:
        entered.set()
        release.wait(5.0)
        return original(start, end)

    ring._copy = parked_copy  # type: ignore[method-assign]
    return entered, release


@pytest.mark.parametrize(
    ("written_meanwhile", "expected"),
    [
        (0, list(range(10, 20))),  # nothing changed: the whole window
        (4, list(range(14, 20))),  # the oldest 4 slots were rewritten: they are dropped
        (10, []),  # every slot rewritten: nothing of the old window is trustworthy
        (500, []),  # lapped many times over
    ],
)
def test_a_parked_reader_does_not_block_the_writer_and_drops_what_was_overwritten(
    written_meanwhile: int, expected: list[int]
) -> None:
    """A reader stuck mid-read: the writer goes on at once; the reader keeps only intact samples."""
    ring = filled(10, 20)
    entered, release = park_reader_in_copy(ring)
    result: list[SampleBlock] = []
    reader = threading.Thread(target=lambda: result.append(ring.latest(10)), daemon=True)
    reader.start()
    assert entered.wait(5.0)

    writer_done = threading.Event()

    def writer() -> None:
        for first in range(20, 20 + written_meanwhile):
            ring.append(indexed_block(first, 1))
        writer_done.set()

    writer_thread = threading.Thread(target=writer, daemon=True)
    writer_thread.start()
    # The reader is still parked: the writer must finish without waiting for it.
    assert writer_done.wait(5.0), "the writer waited for a reader"
    assert reader.is_alive()
    assert ring.total_written == 20 + written_meanwhile
    release.set()
    reader.join(5.0)
    assert not reader.is_alive()
    (block,) = result
    assert block.t.tolist() == expected
    assert consistency_problems(block) == []


# -- a writer between since()'s read of the counter and its copy ----------------------------------


def test_since_polled_while_a_writer_writes_yields_each_sample_exactly_once() -> None:
    """A write landing after since() read the counter must not skip or repeat samples."""
    ring = filled(100, 10)
    original = ring._copy

    def copy_after_a_concurrent_write(start: int, end: int) -> SampleBlock:
        ring._copy = original  # type: ignore[method-assign]
        ring.append(indexed_block(10, 5))  # the writer thread runs just here
        return original(start, end)

    ring._copy = copy_after_a_concurrent_write  # type: ignore[method-assign]
    first, next_index = ring.since(0)
    second, _ = ring.since(next_index)
    polled = first.t.tolist() + second.t.tolist()
    assert polled == list(range(15))
