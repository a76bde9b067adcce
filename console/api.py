"""The public plugin API of Microcurrent Console: everything a plugin may import, in one place.

A plugin — a driver for a machine, a protocol, an observer — imports from this module only::

    from console.api import Driver, DriverInfo, Transport, hookimpl

    mc_console_api = "1.1"

Every other ``console.*`` module is the console's own inside and may change in any release. The
names below change only as ``docs/plugin-api.md`` promises: a name is added in a minor version
(:data:`PLUGIN_API_VERSION` ``1.0`` → ``1.1``), and removed or changed incompatibly only in a
major one. The conformance kit, :mod:`console.testing.conformance`, is public too.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from console.drivers import (
    Capabilities,
    DeviceIdentity,
    DeviceStatus,
    Driver,
    DriverError,
    DriverInfo,
    SampleBlock,
    Transport,
    capability_problems,
)
from console.engine.clock import Clock, RealClock, ScaledClock, SteppedClock, VirtualClock
from console.engine.events import (
    EngineState,
    SafetyEvent,
    SafetyKind,
    SessionInfo,
    SessionSummary,
    StepDelivery,
)
from console.faults import FaultInjector, FaultSpec, SimulatedClient, parse_fault_spec
from console.hookspecs import PLUGIN_API_VERSION, PROJECT_NAME, hookimpl
from console.packs import PackError, load_pack, load_packs, parse_pack
from console.placement import MotionKind, Placement
from console.problems import ProblemKind, RuleProblem
from console.protocols import (
    MAX_SESSION_S,
    MAX_STEP_S,
    MIN_STEP_S,
    Protocol,
    ProtocolError,
    RecommendedSeries,
    Step,
    checked,
    protocol_from_mapping,
    validate_protocol,
)
from console.simulation import (
    PUBLISHED_1HZ_OHM_CM2,
    SKIN_TYPE_OHM_CM2,
    ClientSkin,
    SimulatedFault,
    SkinType,
)
from console.waveforms import (
    COMFORT_CURRENT_UA,
    CURRENT_STEP_UA,
    HARD_MAX_CURRENT_UA,
    HARD_MAX_FREQUENCY_HZ,
    HARD_MIN_FREQUENCY_HZ,
    MAX_RAMP_S,
    MIN_RAMP_S,
    MIN_REVERSAL_INTERVAL_S,
    Polarity,
    Waveform,
    WaveShape,
    polarity_sign,
    sampled_pulse,
    unit_pulse,
)
from console.zones import Side, Zone, ZoneCatalog, ZoneLimits, zone_catalog

if TYPE_CHECKING:
    from console.machine_clock import MachineClock
    from console.stream_driver import (
        Answer,
        Heartbeat,
        Hello,
        Message,
        Samples,
        StreamMachineDriver,
    )

#: Public names whose modules are imported on first use (a plugin that never talks over a
#: stream need not load pyserial and the stream machinery at every start of the console).
_ON_FIRST_USE = {
    "Answer": "console.stream_driver",
    "Heartbeat": "console.stream_driver",
    "Hello": "console.stream_driver",
    "Message": "console.stream_driver",
    "Samples": "console.stream_driver",
    "StreamMachineDriver": "console.stream_driver",
    "MachineClock": "console.machine_clock",
}


def __getattr__(name: str) -> Any:
    """The names of :data:`_ON_FIRST_USE`, imported when first asked for (PEP 562)."""
    module = _ON_FIRST_USE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "COMFORT_CURRENT_UA",
    "CURRENT_STEP_UA",
    "HARD_MAX_CURRENT_UA",
    "HARD_MAX_FREQUENCY_HZ",
    "HARD_MIN_FREQUENCY_HZ",
    "MAX_RAMP_S",
    "MAX_SESSION_S",
    "MAX_STEP_S",
    "MIN_RAMP_S",
    "MIN_REVERSAL_INTERVAL_S",
    "MIN_STEP_S",
    "PLUGIN_API_VERSION",
    "PROJECT_NAME",
    "PUBLISHED_1HZ_OHM_CM2",
    "SKIN_TYPE_OHM_CM2",
    "Answer",
    "Capabilities",
    "ClientSkin",
    "Clock",
    "DeviceIdentity",
    "DeviceStatus",
    "Driver",
    "DriverError",
    "DriverInfo",
    "EngineState",
    "FaultInjector",
    "FaultSpec",
    "Heartbeat",
    "Hello",
    "MachineClock",
    "Message",
    "MotionKind",
    "PackError",
    "Placement",
    "Polarity",
    "ProblemKind",
    "Protocol",
    "ProtocolError",
    "RealClock",
    "RecommendedSeries",
    "RuleProblem",
    "SafetyEvent",
    "SafetyKind",
    "SampleBlock",
    "Samples",
    "ScaledClock",
    "SessionInfo",
    "SessionSummary",
    "Side",
    "SimulatedClient",
    "SimulatedFault",
    "SkinType",
    "Step",
    "StepDelivery",
    "SteppedClock",
    "StreamMachineDriver",
    "Transport",
    "VirtualClock",
    "WaveShape",
    "Waveform",
    "Zone",
    "ZoneCatalog",
    "ZoneLimits",
    "capability_problems",
    "checked",
    "hookimpl",
    "load_pack",
    "load_packs",
    "parse_fault_spec",
    "parse_pack",
    "polarity_sign",
    "protocol_from_mapping",
    "sampled_pulse",
    "unit_pulse",
    "validate_protocol",
    "zone_catalog",
]


def __dir__() -> list[str]:
    """Every public name, those imported on first use included."""
    return sorted(set(globals()) | set(__all__))
