"""A bounded, single-writer sample ring buffer that readers copy from without blocking the writer.

The engine thread appends every block of samples; a scope (or a benchmark) reads the latest N on
its own timer. Memory is fixed at construction, so a 60-minute session uses what a 60-second one
does. Readers never take a lock the writer waits on: they copy, then check the write counter and
discard whatever the writer may have overwritten during the copy (a seqlock, reader side).
"""

from __future__ import annotations

import numpy as np

from console.drivers import SampleBlock


class SampleRing:
    """Fixed-capacity storage for (t, current µA, voltage V) samples; one writer, many readers."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("ring capacity must be at least 1 sample")
        self.capacity = int(capacity)
        # One 3-row array: a block is written with one slice assignment per row.
        self._data = np.zeros((3, self.capacity), dtype=np.float64)
        self._written = 0  # total samples ever written; only the writer changes it
        self._claimed = (
            0  # raised *before* a write: slots of indices below claimed-capacity may change
        )

    @property
    def total_written(self) -> int:
        """Samples written since creation (including those already overwritten)."""
        return self._written

    def __len__(self) -> int:
        return min(self._written, self.capacity)

    def append(self, block: SampleBlock) -> None:
        """Write a block (writer thread only). A block larger than the ring keeps its newest part."""
        n = len(block)
        if n == 0:
            return
        rows = (block.t, block.current_ua, block.voltage_v)
        if n > self.capacity:
            rows = tuple(row[-self.capacity :] for row in rows)
            skipped = n - self.capacity
            n = self.capacity
        else:
            skipped = 0
        self._claimed = self._written + skipped + n
        start = (self._written + skipped) % self.capacity
        first = min(n, self.capacity - start)
        for index, row in enumerate(rows):
            self._data[index, start : start + first] = row[:first]
            if first < n:
                self._data[index, : n - first] = row[first:]
        # Publish after the data is in place: readers trust only indices below this counter.
        self._written += n + skipped

    def latest(self, count: int) -> SampleBlock:
        """A copy of the newest ``count`` samples (fewer if fewer exist), oldest first."""
        end = self._written
        return self._read(max(0, end - min(count, self.capacity)), end)

    def since(self, index: int) -> tuple[SampleBlock, int]:
        """Samples written at or after absolute ``index``, and the index to pass next time.

        A reader that fell behind by more than the capacity gets the newest ``capacity`` samples.
        """
        end = self._written  # read once: the block and the next index must agree
        return self._read(max(index, end - self.capacity), end), end

    def _read(self, start: int, end: int) -> SampleBlock:
        """Samples ``start:end``, minus any the writer overwrote while they were copied."""
        block = self._copy(start, end)
        overwritten = self._claimed - self.capacity - start
        if overwritten > 0:
            keep = slice(min(overwritten, len(block)), None)
            block = SampleBlock(block.t[keep], block.current_ua[keep], block.voltage_v[keep])
        return block

    def _copy(self, start: int, end: int) -> SampleBlock:
        n = end - start
        if n <= 0:
            return SampleBlock.empty()
        first_pos = start % self.capacity
        if first_pos + n <= self.capacity:
            rows = self._data[:, first_pos : first_pos + n].copy()
        else:
            split = self.capacity - first_pos
            rows = np.concatenate((self._data[:, first_pos:], self._data[:, : n - split]), axis=1)
        return SampleBlock(rows[0], rows[1], rows[2])
