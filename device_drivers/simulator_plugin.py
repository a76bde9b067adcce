"""Built-in driver plugin: registers the simulated machine (the default when no machine is set up).

It is declared in ``pyproject.toml`` under the ``mc_console`` entry-point group, exactly as a
vendor's driver plugin is, so the path a vendor takes is the path the project tests every day.
"""

from __future__ import annotations

from typing import Any

from console.api import ClientSkin, Clock, DriverInfo, Transport, hookimpl
from device_drivers.simulator import (
    DEFAULT_SAMPLE_RATE_HZ,
    SIMULATOR_CAPABILITIES,
    SimulatedMachine,
)
from device_drivers.skin import SkinParameters

mc_console_api = "1.1"


def make_simulator(
    clock: Clock,
    sample_rate_hz: float = DEFAULT_SAMPLE_RATE_HZ,
    seed: int = 1,
    skin: ClientSkin | SkinParameters | None = None,
    **_: Any,
) -> SimulatedMachine:
    """Factory: a simulated machine on ``clock``, optionally with a scenario client's ``skin``
    (a :class:`ClientSkin`, or the model's own :class:`SkinParameters` in full); options it does
    not use are ignored."""
    if isinstance(skin, ClientSkin):
        skin = SkinParameters.for_client(skin)
    return SimulatedMachine(clock, sample_rate_hz=sample_rate_hz, seed=seed, skin=skin)


@hookimpl
def register_drivers() -> list[DriverInfo]:
    """The simulated machine, for training, demonstrations and tests."""
    return [
        DriverInfo(
            id="simulator",
            name="Simulated machine",
            vendor="Microcurrent Console",
            model="MC Simulator S-1",
            transport=Transport.SIMULATED,
            capabilities=SIMULATOR_CAPABILITIES,
            factory=make_simulator,
            description=(
                "A simulated stimulator driving a simulated skin (gel drying, capacitance, contact "
                "loss, noise) at 2 kS/s, with injectable faults. Never drives a real machine."
            ),
            simulated=True,
        )
    ]
