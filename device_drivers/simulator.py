"""The simulated microcurrent machine: a :class:`~console.api.Driver` that behaves like a real one.

It produces the waveform it is told to (square, sine, ramped, biphasic; positive, negative or
alternating polarity), drives it through a :class:`~device_drivers.skin.SkinModel`, and reports
measured current and load voltage at 2 kS/s by default (up to 20 kS/s). Samples are generated
lazily, in numpy blocks, for the clock time that has passed — so on a
:class:`~console.api.VirtualClock` a 30-minute protocol simulates in a second or two.

Every change of setting first generates the samples up to *now* with the old setting, so the
samples are causal: a new amplitude shows in the samples after the call, never before.

Faults can be injected now or scheduled at a clock time (:meth:`SimulatedMachine.schedule`),
which is how ``mc-console run --inject contact_loss@90+5`` and the trainer's scenarios work.
"""

from __future__ import annotations

import heapq
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from console.api import (
    Capabilities,
    Clock,
    DeviceIdentity,
    DeviceStatus,
    Driver,
    DriverError,
    Polarity,
    SampleBlock,
    SimulatedFault,
    Waveform,
    WaveShape,
    polarity_sign,
    sampled_pulse,
)
from device_drivers.skin import ContactState, SkinModel, SkinParameters

DEFAULT_SAMPLE_RATE_HZ = 2_000.0
MAX_SAMPLE_RATE_HZ = 20_000.0
#: The simulated machine's own firmware watchdog: without a host command for this long while
#: disconnected, it turns its output off (the machine's hardware is the last line of defence).
FIRMWARE_WATCHDOG_S = 0.5
#: How far above the setting the output runs during an injected over-current fault.
OVER_CURRENT_FACTOR = 1.6

SIMULATOR_CAPABILITIES = Capabilities(
    channels=1,
    current_ua=(10.0, 1000.0),
    current_step_ua=10.0,
    frequency_hz=(0.1, 1000.0),
    waveforms=frozenset(WaveShape),
    polarities=frozenset(Polarity),
    sample_rate_hz=DEFAULT_SAMPLE_RATE_HZ,
    compliance_v=15.0,
)


#: The faults the simulated machine plays: exactly those a training scenario can plan.
SimFault = SimulatedFault


@dataclass(order=True)
class _Scheduled:
    at_s: float
    seq: int
    action: Callable[[], None] = field(compare=False)


class SimulatedMachine(Driver):
    """A simulated stimulator with a simulated skin load. Thread-safe."""

    def __init__(
        self,
        clock: Clock,
        *,
        sample_rate_hz: float = DEFAULT_SAMPLE_RATE_HZ,
        skin: SkinParameters | None = None,
        seed: int = 1,
        serial: str = "SIM-000001",
    ) -> None:
        if not 100.0 <= sample_rate_hz <= MAX_SAMPLE_RATE_HZ:
            raise DriverError(
                f"the simulated machine samples at 100–{MAX_SAMPLE_RATE_HZ:g} S/s, "
                f"not {sample_rate_hz:g}"
            )
        self.clock = clock
        self.sample_rate_hz = float(sample_rate_hz)
        self.capabilities = _with_rate(SIMULATOR_CAPABILITIES, self.sample_rate_hz)
        self.skin = SkinModel(skin, sample_rate_hz=self.sample_rate_hz, seed=seed)
        self._identity = DeviceIdentity("MC Simulator S-1", serial, "sim-1.0")
        self._lock = threading.RLock()
        self._unstalled = threading.Event()
        self._unstalled.set()
        self._opened = False
        self._waveform: Waveform | None = None
        self._waveform_origin_s = 0.0
        self._amplitude_ua = 0.0
        self._output_on = False
        self._faults: set[SimFault] = set()
        self._schedule: list[_Scheduled] = []
        self._seq = 0
        self._next_index = 0  # index of the next sample on the machine's sample grid
        self._pending: list[SampleBlock] = []
        self._last_heard_s = 0.0
        self._last_command_s = 0.0
        self._switched_off = False

    # -- the Driver interface --------------------------------------------------------------

    def forget_settings(self) -> None:
        """Output off, no waveform, current 0: what a machine's reboot leaves (the emulated
        firmware's power cycle; the console's own driver never calls it)."""
        with self._lock:
            self._advance()
            self._output_on = False
            self._waveform = None
            self._amplitude_ua = 0.0

    def open(self) -> None:
        with self._lock:
            self._opened = True
            now = self.clock.now()
            # Never behind the last sample sent before a close: no sample twice.
            self._next_index = max(self._next_index, int(np.ceil(now * self.sample_rate_hz)))
            self._last_heard_s = self._last_command_s = now

    def close(self) -> None:
        with self._lock:
            self._advance()
            self._output_on = False
            self._opened = False
            self._pending.clear()
        self._unstalled.set()  # release any caller stuck in a stalled call

    def identify(self) -> DeviceIdentity:
        if not self._enter_call():
            raise DriverError("the simulated machine does not answer (disconnected)")
        return self._identity

    def configure(self, waveform: Waveform) -> None:
        if not self._enter_call():
            return
        caps = self.capabilities
        low, high = caps.frequency_hz
        if (
            waveform.shape not in caps.waveforms
            or waveform.polarity not in caps.polarities
            or not low <= waveform.frequency_hz <= high
        ):
            raise DriverError(f"the machine cannot produce {waveform.describe()}")
        with self._lock:
            self._advance()
            self._waveform = waveform
            self._waveform_origin_s = self.clock.now()

    def set_amplitude(self, current_ua: float) -> None:
        if not self._enter_call():
            return
        with self._lock:
            self._advance()
            if not 0.0 <= current_ua <= self.capabilities.current_ua[1]:
                raise DriverError(f"amplitude {current_ua:g} µA is outside the machine's range")
            self._amplitude_ua = float(current_ua)

    def start_output(self) -> None:
        if not self._enter_call():
            return
        with self._lock:
            self._advance()
            if self._waveform is None:
                raise DriverError("output cannot start before a waveform is configured")
            self._output_on = True

    def stop_output(self) -> None:
        # No _enter_call: stop never hangs or raises. Over a pulled cable it cannot reach the
        # machine, whose own firmware watchdog then turns the output off.
        with self._lock:
            self._advance()
            if SimFault.DISCONNECT in self._faults:
                return
            self._output_on = False
            self._amplitude_ua = 0.0

    def read_samples(self) -> SampleBlock:
        self._enter_call()
        with self._lock:
            self._advance()
            pending, self._pending = self._pending, []
        return SampleBlock.joined(pending)

    def status(self) -> DeviceStatus:
        self._enter_call()
        with self._lock:
            return DeviceStatus(last_heard_s=self._last_heard_s, output_on=self._output_on)

    # -- faults ----------------------------------------------------------------------------

    def inject(self, fault: SimFault) -> None:
        """Start a fault now."""
        with self._lock:
            self._advance()
            self._apply(fault, True)

    def clear(self, fault: SimFault) -> None:
        """End a fault now (reconnect, put the probe back, ...)."""
        with self._lock:
            self._advance()
            self._apply(fault, False)

    def schedule(self, fault: SimFault, at_s: float, duration_s: float | None = None) -> None:
        """Start ``fault`` at clock time ``at_s`` and, if given, end it ``duration_s`` later."""
        with self._lock:
            self._push(at_s, lambda: self._apply(fault, True))
            if duration_s is not None:
                self._push(at_s + duration_s, lambda: self._apply(fault, False))

    def next_scheduled_change_s(self) -> float | None:
        """When the next scheduled fault starts or ends (``None``: nothing is scheduled)."""
        with self._lock:
            return self._schedule[0].at_s if self._schedule else None

    #: Names accepted by :meth:`schedule_fault` (the :class:`console.api.FaultInjector` protocol).
    fault_names: tuple[str, ...] = tuple(fault.value for fault in SimFault)

    def schedule_fault(self, name: str, at_s: float, duration_s: float | None = None) -> None:
        """Schedule a fault by name (``contact_loss``...); see :class:`SimFault`."""
        try:
            fault = SimFault(name)
        except ValueError:
            raise DriverError(
                f"unknown fault {name!r}; known faults: {', '.join(self.fault_names)}"
            ) from None
        self.schedule(fault, at_s, duration_s)

    # -- the simulated client (what the operator does with their hands) --------------------

    def apply_gel(self) -> None:
        """The operator puts fresh gel on the probes now (the drying is undone)."""
        with self._lock:
            self._advance()
            self.skin.apply_gel(self.clock.now())

    def new_client(self) -> None:
        """A new client lies down: fresh gel on skin that has not soaked it up yet."""
        with self._lock:
            self._advance()
            self.skin.new_client(self.clock.now())
            if self._switched_off:
                self._switched_off = False
                self._faults.discard(SimFault.DISCONNECT)
            self._place_probes()

    def lift_probes(self) -> None:
        """The operator takes both probes off the skin (an open circuit until the next client)."""
        with self._lock:
            self._advance()
            self.skin.contact = ContactState.LIFTED

    def switch_off(self) -> None:
        """The power switch: the output stage is dead and the machine answers nothing."""
        with self._lock:
            self._advance()
            self._output_on = False
            self._amplitude_ua = 0.0
            self._switched_off = True
            self._faults.add(SimFault.DISCONNECT)

    @property
    def switched_off(self) -> bool:
        """True once the operator switched the machine off (until the next client)."""
        return self._switched_off

    @property
    def active_faults(self) -> frozenset[SimFault]:
        """Faults in force now."""
        with self._lock:
            self._advance()
            return frozenset(self._faults)

    @property
    def output_on(self) -> bool:
        """Whether the machine is driving current (the truth, whatever the host believes)."""
        with self._lock:
            self._advance()
            return self._output_on

    @property
    def amplitude_ua(self) -> float:
        """The amplitude setpoint the machine holds."""
        return self._amplitude_ua

    # -- internals -------------------------------------------------------------------------

    def _push(self, at_s: float, action: Callable[[], None]) -> None:
        self._seq += 1
        heapq.heappush(self._schedule, _Scheduled(at_s, self._seq, action))

    def _apply(self, fault: SimFault, active: bool) -> None:
        if active:
            self._faults.add(fault)
        else:
            self._faults.discard(fault)
        if fault in (SimFault.CONTACT_LOSS, SimFault.SHORT_CIRCUIT):
            self._place_probes()
        elif fault is SimFault.GEL_DRY:
            # The gel dries ten times faster until the fault clears: the load climbs minute by
            # minute toward the contact window until the operator re-applies gel.
            self.skin.set_fast_drying(active, self.clock.now())
        elif fault is SimFault.STALL:
            if active:
                self._unstalled.clear()
            else:
                self._unstalled.set()

    def _place_probes(self) -> None:
        """The probes' contact as the faults in force make it."""
        if SimFault.CONTACT_LOSS in self._faults:
            self.skin.contact = ContactState.LIFTED
        elif SimFault.SHORT_CIRCUIT in self._faults:
            self.skin.contact = ContactState.SHORTED
        else:
            self.skin.contact = ContactState.GOOD

    def _enter_call(self) -> bool:
        """Fault behaviour shared by every host command except stop/close.

        Returns False when the command is lost on the way (machine disconnected).
        """
        with self._lock:
            self._advance()  # faults due by now take effect before this call, not after it
        if not self._unstalled.is_set():
            self._unstalled.wait()  # a stuck port: the call hangs until the fault clears or close()
        with self._lock:
            if not self._opened:
                raise DriverError("the simulated machine is not open")
            if SimFault.DRIVER_ERROR in self._faults:
                self._faults.discard(SimFault.DRIVER_ERROR)
                raise DriverError("simulated driver fault: the machine answered with garbage")
            if SimFault.DISCONNECT in self._faults:
                return False
            self._last_command_s = self.clock.now()
            return True

    def _advance(self) -> None:
        """Generate samples up to now, applying scheduled faults at their exact times."""
        if not self._opened:
            return
        now = self.clock.now()
        while self._schedule and self._schedule[0].at_s <= now:
            event = heapq.heappop(self._schedule)
            self._generate_until(event.at_s)
            event.action()
        self._generate_until(now)

    def _generate_until(self, t_end: float) -> None:
        end_index = int(np.floor(t_end * self.sample_rate_hz)) + 1
        if end_index <= self._next_index:
            return
        disconnected = SimFault.DISCONNECT in self._faults
        if disconnected and t_end - self._last_command_s > FIRMWARE_WATCHDOG_S:
            self._output_on = False  # the machine's own watchdog
        t = np.arange(self._next_index, end_index, dtype=np.float64) / self.sample_rate_hz
        self._next_index = end_index
        commanded, peak = self._commanded_current(t)
        current, voltage = self.skin.respond(t, commanded, self.capabilities.compliance_v, peak)
        if disconnected:
            return  # produced at the probes, but nothing reaches the host
        self._pending.append(SampleBlock(t, current, voltage))
        self._last_heard_s = float(t[-1])

    def _commanded_current(self, t: np.ndarray) -> tuple[np.ndarray, float]:
        """The source current at times ``t`` and its peak magnitude."""
        waveform = self._waveform
        if not self._output_on or waveform is None or self._amplitude_ua <= 0.0:
            return np.zeros_like(t), 0.0
        since = t - self._waveform_origin_s
        pulse = sampled_pulse(
            waveform.shape,
            since * waveform.frequency_hz,
            waveform.frequency_hz / self.sample_rate_hz,
        )
        if SimFault.POLARITY_STUCK in self._faults:
            sign = np.ones_like(since)  # a failed reversal switch: every pulse one way
        else:
            sign = polarity_sign(waveform.polarity, waveform.reversal_interval_s, since)
        amplitude = self._amplitude_ua
        if SimFault.OVER_CURRENT in self._faults:
            amplitude *= OVER_CURRENT_FACTOR
        return amplitude * sign * pulse, amplitude


def _with_rate(caps: Capabilities, rate: float) -> Capabilities:
    return replace(caps, sample_rate_hz=rate)
