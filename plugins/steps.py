"""Helpers the built-in protocol plugins share to write their steps."""

from __future__ import annotations

from console.protocols import Step
from console.waveforms import Waveform


def both_sides(region: str, waveform: Waveform, duration_s: float, technique: str) -> list[Step]:
    """The same step on the client's right, then left side of ``region`` (e.g. ``cheek``).

    Practice works one side completely before the other, so that the operator compares them
    and the client feels the same sequence on both sides.
    """
    return [
        Step(zone=f"{region}_{side}", waveform=waveform, duration_s=duration_s, technique=technique)
        for side in ("right", "left")
    ]
