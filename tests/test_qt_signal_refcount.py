"""Regression guard for the PySide6 6.12.0 / CPython 3.11 crash (docs/design.md, known pitfalls).

PySide6 6.12.0 drops a reference to ``True`` on every signal emission; after ~10^5 emissions the
interpreter dies with "Fatal Python error: bool_dealloc". A live scope emits that many within
minutes. If an upgrade brings the bug back, this test fails in CI instead of crashing a clinic.
"""

from __future__ import annotations

import sys

import pytest

QtCore = pytest.importorskip("PySide6.QtCore")

EMISSIONS = 250_000
#: Checked after every chunk: True has only ~600 references in a small process, and a leaking
#: build drops one per emit, so the check must come well before that runs out (measured on
#: 6.12.0: a drop of exactly 100 per 100 emits; the interpreter aborts a few hundred later).
CHUNK = 100


class _Emitter(QtCore.QObject):
    ping = QtCore.Signal(int)


class _Receiver(QtCore.QObject):
    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def on_ping(self, value: int) -> None:
        self.count += 1


def test_signal_emission_does_not_leak_references_to_true(qapp) -> None:
    emitter, receiver = _Emitter(), _Receiver()
    emitter.ping.connect(receiver.on_ping)
    before = sys.getrefcount(True)
    for start in range(0, EMISSIONS, CHUNK):
        for value in range(start, start + CHUNK):
            emitter.ping.emit(value)
        drop = before - sys.getrefcount(True)
        # On 3.12+ True is immortal and its count is constant; a leak shows as ~1 per emit.
        assert drop < CHUNK // 2, (
            f"sys.getrefcount(True) fell by {drop} over {start + CHUNK} signal emissions: this "
            "PySide6 build leaks references to True (the 6.12.0 bug) and will crash the console"
        )
    assert receiver.count == EMISSIONS
