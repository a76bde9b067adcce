"""The entry point Microcurrent Console loads (``mc_console: acme = acme_stim.plugin``).

It declares the plugin-API version it was written for and registers one driver, ``acme-s2``.
Nothing is opened here: the console calls the factory, then ``open()``, when the operator
connects the machine.
"""

from __future__ import annotations

from typing import Any

from console.api import (
    Capabilities,
    Clock,
    DriverError,
    DriverInfo,
    Polarity,
    Transport,
    WaveShape,
    hookimpl,
)

from acme_stim import machine
from acme_stim.driver import AcmeS2Driver

mc_console_api = "1.1"

#: What every Acme S2 can do (its ``CAP?`` answer); a connected machine's own answer replaces it.
ACME_S2_CAPABILITIES = Capabilities(
    channels=1,
    current_ua=(machine.MIN_CURRENT_UA, machine.MAX_CURRENT_UA),
    current_step_ua=machine.CURRENT_STEP_UA,
    frequency_hz=(machine.MIN_FREQUENCY_HZ, machine.MAX_FREQUENCY_HZ),
    waveforms=frozenset({WaveShape.SQUARE, WaveShape.BIPHASIC, WaveShape.SINE}),
    polarities=frozenset(Polarity),
    sample_rate_hz=machine.SAMPLE_RATE_HZ,
    compliance_v=machine.COMPLIANCE_V,
)


def make_driver(clock: Clock, port: str | None = None, **_: Any) -> AcmeS2Driver:
    """Factory: an Acme S2 on ``port`` (options the driver does not use are ignored)."""
    if not port:
        raise DriverError(
            "the Acme S2 needs a port: --port /dev/ttyUSB0 (or COM3), "
            "or --port acme-sim:// for the emulated machine"
        )
    return AcmeS2Driver(clock, port, ACME_S2_CAPABILITIES)


@hookimpl
def register_drivers() -> list[DriverInfo]:
    """The Acme S2."""
    return [
        DriverInfo(
            id="acme-s2",
            name="Acme S2",
            vendor="Acme Stim",
            model="S2",
            transport=Transport.SERIAL,
            capabilities=ACME_S2_CAPABILITIES,
            factory=make_driver,
            description=(
                "Acme S2 on USB-serial (115200 baud, ASCII line protocol), 10-600 µA, "
                "0.5-200 Hz, 500 S/s. Port acme-sim:// is an emulated S2 (no current)."
            ),
        )
    ]
