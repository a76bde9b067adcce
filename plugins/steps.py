"""Helpers the built-in protocol plugins share to write their steps."""

from __future__ import annotations

from console.api import MotionKind, Placement, Step, Waveform


def both_sides(
    region: str, waveform: Waveform, duration_s: float, technique: str, placement: Placement
) -> list[Step]:
    """The same step on the client's right, then left side of ``region`` (e.g. ``cheek``).

    Practice works one side completely before the other, so that the operator compares them
    and the client feels the same sequence on both sides. The placement's landmarks are
    resolved on each side.
    """
    return [
        Step(
            zone=f"{region}_{side}",
            waveform=waveform,
            duration_s=duration_s,
            technique=technique,
            placement=placement,
        )
        for side in ("right", "left")
    ]


def place(first: str, second: str, motion: MotionKind, toward: str | None = None) -> Placement:
    """A placement: the probes' landmarks, the movement and where it goes."""
    return Placement((first, second), motion, toward)
