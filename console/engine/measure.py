"""Measuring what was delivered: per-block statistics, computed once, shared by safety and dose.

Every block of samples is reduced to a handful of sums (:class:`BlockStats`) in one pass of numpy
operations; the safety supervisor judges contact and over-current from them and the
:class:`StepMeter` accumulates the dose of the running step from them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from console.drivers import SampleBlock
from console.engine.events import StepDelivery

#: A sample counts as "driving" when the current or the voltage is clearly above noise.
DRIVING_CURRENT_UA = 5.0
DRIVING_VOLTAGE_V = 0.5


@dataclass(frozen=True, slots=True)
class BlockStats:
    """Sums over one block of samples."""

    n: int
    t_end: float
    sum_abs_current_ua: float
    sum_current_ua: float  #: signed: what flowed one way more than the other
    peak_abs_current_ua: float
    driving_n: int  #: samples that carry evidence about the contact (see :meth:`of`)
    driving_sum_i2: float  #: Σ i² over those samples, A²
    driving_sum_v2: float  #: Σ v² over those samples, V²
    at_rail_n: int = 0  #: samples at or above the rail voltage asked for (under-delivery)

    @property
    def impedance_ohm(self) -> float | None:
        """RMS voltage / RMS current over the driving samples; None if nothing was driven."""
        if self.driving_n == 0:
            return None
        if self.driving_sum_i2 <= 0.0:
            return math.inf
        return math.sqrt(self.driving_sum_v2 / self.driving_sum_i2)

    @staticmethod
    def of(block: SampleBlock, rail_v: float | None = None) -> BlockStats:
        """Reduce a block (an empty block gives zeros); ``rail_v``: the voltage from which a
        sample is at the machine's compliance rail.

        The contact sums (``driving_*``) run over the samples that carry evidence about the
        contact: those where current flows, and — with ``rail_v`` — those where the source sits
        at its rail (a lifted probe: no current, all the volts). A current source's voltage
        without current below the rail is the skin's capacitance discharging after a pulse or
        after the output went off: judged as if driven it would read as a lifted probe.
        Without ``rail_v`` a clearly raised voltage counts as evidence too.
        """
        n = len(block)
        if n == 0:
            return BlockStats(0, math.nan, 0.0, 0.0, 0.0, 0, 0.0, 0.0)
        current = block.current_ua
        voltage = block.voltage_v
        abs_current = np.abs(current)
        abs_voltage = np.abs(voltage)
        at_rail = abs_voltage >= rail_v if rail_v is not None else abs_voltage > DRIVING_VOLTAGE_V
        evidence = np.logical_or(abs_current > DRIVING_CURRENT_UA, at_rail)
        driving_n = int(np.count_nonzero(evidence))
        if driving_n == n:
            sum_i2, sum_v2 = float(np.dot(current, current)), float(np.dot(voltage, voltage))
        elif driving_n:
            driven_i, driven_v = current[evidence], voltage[evidence]
            sum_i2, sum_v2 = float(np.dot(driven_i, driven_i)), float(np.dot(driven_v, driven_v))
        else:
            sum_i2 = sum_v2 = 0.0
        return BlockStats(
            n=n,
            t_end=float(block.t[-1]),
            sum_abs_current_ua=float(np.add.reduce(abs_current)),
            sum_current_ua=float(np.add.reduce(current)),
            peak_abs_current_ua=float(np.maximum.reduce(abs_current)),
            driving_n=driving_n,
            driving_sum_i2=sum_i2 * 1e-12,
            driving_sum_v2=sum_v2,
            at_rail_n=int(np.count_nonzero(at_rail)) if rail_v is not None else 0,
        )


class StepMeter:
    """Accumulates the dose of one step from the samples measured while its output was on.

    The step's output may go on and off several times (a pause, a contact loss); each time it
    was on is a window of clock time, and only samples measured inside a window count, however
    late they reach the console."""

    def __init__(self, index: int, zone: str, planned_s: float, sample_period_s: float) -> None:
        self.index = index
        self.zone = zone
        self.planned_s = planned_s
        self.sample_period_s = sample_period_s
        #: [from, to] clock times the output was on; ``to`` is +inf while it still is.
        self.windows: list[list[float]] = []
        self.samples = 0
        self.sum_abs_current_ua = 0.0
        self.sum_current_ua = 0.0
        self.driving_sum_i2 = 0.0
        self.driving_sum_v2 = 0.0
        self.driving_n = 0

    def output_on(self, at_s: float) -> None:
        """The output went on at ``at_s``."""
        if not self.windows or self.windows[-1][1] != math.inf:
            self.windows.append([at_s, math.inf])

    def output_off(self, at_s: float) -> None:
        """The output went off at ``at_s``."""
        if self.windows and self.windows[-1][1] == math.inf:
            self.windows[-1][1] = at_s

    @property
    def off_since_s(self) -> float:
        """When the output last went off (+inf while it is on; -inf if it never went on)."""
        return self.windows[-1][1] if self.windows else -math.inf

    def slices(self, t: np.ndarray) -> list[tuple[int, int]]:
        """Index ranges of the samples at times ``t`` (ascending) measured in a window."""
        found = []
        for start_s, stop_s in self.windows:
            start = int(np.searchsorted(t, start_s, side="left"))
            stop = int(np.searchsorted(t, stop_s, side="right"))
            if stop > start:
                found.append((start, stop))
        return found

    def add(self, stats: BlockStats) -> None:
        """Count samples measured while this step's output was on."""
        self.samples += stats.n
        self.sum_abs_current_ua += stats.sum_abs_current_ua
        self.sum_current_ua += stats.sum_current_ua
        self.driving_sum_i2 += stats.driving_sum_i2
        self.driving_sum_v2 += stats.driving_sum_v2
        self.driving_n += stats.driving_n

    @property
    def time_under_current_s(self) -> float:
        """Seconds of samples taken while the output was on."""
        return self.samples * self.sample_period_s

    @property
    def charge_uc(self) -> float:
        """∫|i| dt in microcoulombs."""
        return self.sum_abs_current_ua * self.sample_period_s

    @property
    def net_charge_uc(self) -> float:
        """∫i dt in microcoulombs (signed): the charge left one way under the probes."""
        return self.sum_current_ua * self.sample_period_s

    def delivery(self, completed: bool) -> StepDelivery:
        """The step's record."""
        time_on = self.time_under_current_s
        impedance = (
            math.sqrt(self.driving_sum_v2 / self.driving_sum_i2) / 1000.0
            if self.driving_n and self.driving_sum_i2 > 0
            else None
        )
        return StepDelivery(
            index=self.index,
            zone=self.zone,
            planned_s=self.planned_s,
            time_under_current_s=time_on,
            mean_current_ua=self.charge_uc / time_on if time_on > 0 else 0.0,
            charge_uc=self.charge_uc,
            mean_impedance_kohm=impedance,
            completed=completed,
            net_charge_uc=self.net_charge_uc,
        )
