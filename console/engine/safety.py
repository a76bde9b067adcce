"""Safety rules as code: the limits, the checks before start, and the judgement of each block.

Rules 1–5 of docs/safety.md live here and in ``runner.py``. These functions decide; the runner
acts on their decisions in the engine thread. No plugin can change the hard limits: drivers'
capabilities are clamped (:meth:`Capabilities.clamped`) and every step is checked against both.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

from console.drivers import Capabilities, capability_problems
from console.engine.clock import Clock
from console.engine.measure import BlockStats
from console.protocols import Protocol, validate_protocol
from console.screening import ScreeningResult


@dataclass(frozen=True, slots=True)
class SafetyLimits:
    """Thresholds of the safety supervisor; the defaults suit facial microcurrent."""

    #: Contact window: above this the probe has lifted (or the gel is gone); below, a short.
    contact_max_ohm: float = 60_000.0
    contact_min_ohm: float = 250.0
    #: Contact getting poor (gel drying): above this, held for ``contact_high_window_s``, the
    #: operator is asked to re-apply gel before the contact is lost; the output goes on.
    contact_high_ohm: float = 50_000.0
    contact_high_window_s: float = 2.0
    #: ...and asked again only after the load has fallen below this fraction of it.
    contact_high_clear_fraction: float = 0.9
    #: Over-current: measured peak above ``setting × factor + margin`` trips the output
    #: (docs/safety.md, rule 4: the machine's own accuracy tolerance, a few percent, plus
    #: the noise of its current measurement, is well inside it).
    over_current_factor: float = 1.1
    over_current_margin_ua: float = 10.0
    #: Under-delivery (rule 10): samples at or above this fraction of the compliance voltage
    #: are "at the rail", where a current source cannot deliver its setting.
    rail_fraction: float = 0.97
    #: Judged over this much steady output (clock seconds of samples).
    under_delivery_window_s: float = 3.0
    #: The operator is told when this fraction of the driving samples is at the rail...
    under_delivery_fraction: float = 0.10
    #: ...and told again only after a window with less than this.
    under_delivery_clear_fraction: float = 0.02
    #: Watchdog: no sample or heartbeat from the machine for this long (clock seconds).
    device_silence_s: float = 0.5
    #: Watchdog: one driver call (or engine tick) taking this long in wall time is a hang.
    call_hang_s: float = 1.0


class PreflightError(ValueError):
    """The treatment may not start; ``problems`` lists every reason, nothing was sent."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(
            "the treatment cannot start:\n  - " + "\n  - ".join(problems)
            if len(problems) > 1
            else f"the treatment cannot start: {problems[0]}"
        )


def preflight_problems(
    protocol: Protocol,
    simulated: bool | None,
    capabilities: Capabilities,
    clock: Clock,
    screening: ScreeningResult | None,
) -> list[str]:
    """Every reason ``protocol`` may not run on this machine, for this client, on this clock.

    ``capabilities`` are the ones the connected machine states (they may be narrower than the
    registration's). ``simulated``: no current can reach a person (the simulated machine, or an
    emulator that said so in its hello); ``None`` while that is not known yet, which defers the
    rules that depend on it. Checked before anything reaches the machine (safety rule 1).
    """
    problems = [f"protocol: {problem}" for problem in validate_protocol(protocol)]
    for number, step in enumerate(protocol.steps, start=1):
        problems.extend(
            f"step {number} ({step.zone}): {problem}"
            for problem in capability_problems(step.waveform, capabilities)
            if problem not in step.waveform.problems()
        )
    if simulated is False and not clock.follows_wall_time:
        problems.append(
            "time control is for the simulated machine only: a real machine runs in real time"
        )
    if screening is None:
        if simulated is False:
            problems.append("a real machine needs a completed contraindication screening")
    elif not screening.cleared:
        problems.extend(f"screening: {reason}" for reason in screening.reasons())
    return problems


class ContactMonitor:
    """Judges the contact from the driving samples of consecutive blocks (safety rule 3).

    Sums are pooled until ``window_s`` worth of driving samples has been seen, then judged: a
    block that holds only the tail of a pulse (the skin capacitance discharging after a falling
    edge) is too little evidence on its own, while an open circuit fills the window in the first
    milliseconds of a pulse, with voltage at the rail and no current.
    """

    def __init__(self, limits: SafetyLimits, sample_rate_hz: float, window_s: float = 0.01) -> None:
        self.limits = limits
        self.min_samples = max(4, int(sample_rate_hz * window_s))
        self.impedance_ohm: float | None = None
        #: ``impedance_ohm`` was measured since the output last went on: it is the contact
        #: now, not a reading from before a pause (the probes may have moved since).
        self.reading_is_current = False
        self.reset()

    def forget_reading(self) -> None:
        """The output goes on again: the last reading (kept for the record) is no longer the
        contact now, until the next one."""
        self.reading_is_current = False

    def reset(self) -> None:
        """Forget pooled samples (the output was turned off or reconfigured)."""
        self._n = 0
        self._sum_i2 = 0.0
        self._sum_v2 = 0.0

    def feed(self, stats: BlockStats) -> tuple[str, float] | None:
        """Pool a block; ``("open", Ω)`` or ``("short", Ω)`` when the window shows a fault."""
        self._n += stats.driving_n
        self._sum_i2 += stats.driving_sum_i2
        self._sum_v2 += stats.driving_sum_v2
        if self._n < self.min_samples:
            return None
        impedance = math.sqrt(self._sum_v2 / self._sum_i2) if self._sum_i2 > 0 else math.inf
        self.reset()
        self.impedance_ohm = impedance
        self.reading_is_current = True
        quality = contact_quality(impedance, self.limits)
        if quality is ContactQuality.LOST:
            return ("open", impedance)
        if quality is ContactQuality.SHORT:
            return ("short", impedance)
        return None


class ContactTrend:
    """Whether the contact has been poor (above ``contact_high_ohm``) for long enough to ask
    the operator to re-apply gel: once, and again only after it recovered."""

    def __init__(self, limits: SafetyLimits) -> None:
        self.limits = limits
        self.told = False
        self._high_since: float | None = None

    def reset(self) -> None:
        """The output went off or the step changed: the next stretch is judged afresh."""
        self._high_since = None

    def feed(self, impedance_ohm: float | None, now: float) -> bool:
        """A contact reading at ``now``; True when the operator should be asked now."""
        if impedance_ohm is None:
            return False
        if impedance_ohm <= self.limits.contact_high_ohm * self.limits.contact_high_clear_fraction:
            self.told = False
        if impedance_ohm <= self.limits.contact_high_ohm:
            self._high_since = None
            return False
        if self._high_since is None:
            self._high_since = now
        if self.told or now - self._high_since < self.limits.contact_high_window_s:
            return False
        self.told = True
        return True


class DeliveryMonitor:
    """How much of the pulse time the machine spends at its compliance voltage (rule 10).

    A current source at its voltage limit delivers less than it was set to: dried gel or a
    probe lifting at its edge raise the skin's resistance until the setting needs more volts
    than the machine has. The monitor pools the driving samples of a steady setting over a
    window and says what fraction of them sat at the rail.
    """

    def __init__(self, limits: SafetyLimits, compliance_v: float) -> None:
        self.limits = limits
        #: Voltage from which a sample counts as at the rail.
        self.rail_v = compliance_v * limits.rail_fraction
        self.reset()

    def reset(self) -> None:
        """Start a new window (the setting or the state changed)."""
        self._span_s = 0.0
        self._last_t: float | None = None
        self._driving = 0
        self._at_rail = 0

    def feed(self, stats: BlockStats) -> float | None:
        """Pool a block; the fraction at the rail once the window is full, else None."""
        if stats.n == 0:
            return None
        if self._last_t is not None:
            self._span_s += max(0.0, stats.t_end - self._last_t)
        self._last_t = stats.t_end
        self._driving += stats.driving_n
        self._at_rail += stats.at_rail_n
        if self._span_s < self.limits.under_delivery_window_s or self._driving == 0:
            return None
        fraction = self._at_rail / self._driving
        self.reset()
        self._last_t = stats.t_end
        return fraction


class ContactQuality(enum.StrEnum):
    """The probes' contact, as the operator reads it."""

    UNKNOWN = "—"
    GOOD = "good"
    HIGH = "poor — re-apply gel"
    LOST = "lost"
    SHORT = "short"


def contact_quality(impedance_ohm: float | None, limits: SafetyLimits) -> ContactQuality:
    """Good inside the contact window, poor near its top (gel drying), lost above it (a lifted
    probe), short below it."""
    if impedance_ohm is None:
        return ContactQuality.UNKNOWN
    if impedance_ohm > limits.contact_max_ohm:
        return ContactQuality.LOST
    if impedance_ohm > limits.contact_high_ohm:
        return ContactQuality.HIGH
    if impedance_ohm < limits.contact_min_ohm:
        return ContactQuality.SHORT
    return ContactQuality.GOOD


def over_current(stats: BlockStats, setting_ua: float, limits: SafetyLimits) -> bool:
    """True when the measured peak exceeds what the setting allows."""
    allowed = setting_ua * limits.over_current_factor + limits.over_current_margin_ua
    return stats.n > 0 and stats.peak_abs_current_ua > allowed


def describe_ohm(value: float) -> str:
    """``12.3 kΩ``, ``40 Ω`` or ``open circuit``."""
    if math.isinf(value) or value > 1e7:
        return "open circuit"
    if value >= 1000:
        return f"{value / 1000:.1f} kΩ"
    return f"{value:.0f} Ω"


class HangTimer:
    """How long the engine's current tick has been stuck, counting only time the process ran.

    The watchdog thread looks every ``period`` seconds of wall time. A look that comes much
    later than that means the process did not get the CPU (a busy computer): the engine thread
    could not have run either, so at most two periods of such a gap count against the tick.
    A call that really hangs is still caught in wall time while the computer keeps up.
    """

    def __init__(self, period_s: float, now_s: float) -> None:
        self.period_s = period_s
        self._last_look_s = now_s
        self._tick_started_s: float | None = None
        self._hung_s = 0.0

    def look(self, now_s: float, tick_started_s: float | None) -> float:
        """Seconds the tick that started at ``tick_started_s`` (``None``: no tick) has run."""
        credit = min(now_s - self._last_look_s, 2 * self.period_s)
        self._last_look_s = now_s
        if tick_started_s is None:
            self._tick_started_s = None
            self._hung_s = 0.0
        elif tick_started_s != self._tick_started_s:
            self._tick_started_s = tick_started_s
            self._hung_s = min(now_s - tick_started_s, credit)
        else:
            self._hung_s += credit
        return self._hung_s
