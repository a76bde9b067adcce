"""Planned charge of a step: how much flows (|charge|) and how much is left one way (net charge).

The engine measures both from the samples; this module predicts them from the settings alone,
so that a protocol that would leave direct current under the probes is refused before it runs
(safety rule 9). The integral is exact after the ramp (antiderivatives of the pulse, phase by
phase) and fine-grained numerical during it, where the current rises linearly.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from console.waveforms import Polarity, Waveform, pulse_antiderivative

#: Bins per period when integrating the ramp, and the bounds on bins per polarity phase.
_RAMP_BINS_PER_PERIOD = 32
_MIN_BINS, _MAX_BINS = 64, 20_000


@dataclass(frozen=True, slots=True)
class PlannedCharge:
    """What an undisturbed step delivers: ∫|i| dt and ∫i dt, in µC."""

    abs_uc: float
    net_uc: float


def planned_charge(waveform: Waveform, duration_s: float) -> PlannedCharge:
    """Charge of ``waveform`` run for ``duration_s`` from zero, ramp included (µC).

    The polarity cycle starts positive when the output starts, as every machine's does.
    """
    if not (duration_s > 0 and math.isfinite(duration_s)):
        return PlannedCharge(0.0, 0.0)
    f = waveform.frequency_hz
    ramp = min(max(waveform.ramp_s, 0.0), duration_s)
    # Pieces of constant polarity: [start, end) with a sign.
    if waveform.polarity is Polarity.ALTERNATING:
        interval = waveform.reversal_interval_s
        edges = np.append(np.arange(0.0, duration_s, interval), duration_s)
        signs = 1.0 - 2.0 * (np.arange(len(edges) - 1) % 2)
    else:
        edges = np.array([0.0, duration_s])
        signs = np.array([-1.0 if waveform.polarity is Polarity.NEGATIVE else 1.0])
    starts, ends = edges[:-1], edges[1:]
    signed = pulse_antiderivative(waveform.shape, signed=True)
    absolute = pulse_antiderivative(waveform.shape, signed=False)
    # After the ramp: exact, every piece at once.
    a = np.maximum(starts, ramp)
    b = np.maximum(ends, ramp)
    net = float(np.sum(signs * (signed(b * f) - signed(a * f)))) / f
    total = float(np.sum(absolute(b * f) - absolute(a * f))) / f
    # During the ramp: the pieces that overlap it, bin by bin.
    for start, end, sign in zip(starts, ends, signs, strict=True):
        if start >= ramp:
            break
        piece_net, piece_abs = _ramped_piece(
            waveform.frequency_hz, signed, absolute, start, min(end, ramp), ramp
        )
        net += sign * piece_net
        total += piece_abs
    current = waveform.current_ua
    return PlannedCharge(abs_uc=current * total, net_uc=current * net)


def _ramped_piece(
    f: float,
    signed: Callable[[np.ndarray], np.ndarray],
    absolute: Callable[[np.ndarray], np.ndarray],
    start: float,
    end: float,
    ramp: float,
) -> tuple[float, float]:
    """∫ (t/ramp)·pulse dt and ∫ (t/ramp)·|pulse| dt over [start, end) at ``f`` Hz (unit
    current, s), from the pulse's antiderivatives."""
    bins = int(min(_MAX_BINS, max(_MIN_BINS, math.ceil((end - start) * f * _RAMP_BINS_PER_PERIOD))))
    t = np.linspace(start, end, bins + 1)
    envelope = (t[:-1] + t[1:]) / (2.0 * ramp)
    net = float(np.dot(envelope, np.diff(signed(t * f)))) / f
    total = float(np.dot(envelope, np.diff(absolute(t * f)))) / f
    return net, total
