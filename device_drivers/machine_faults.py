"""Fault flags of the serial machines: the same bits in both wire protocols and the firmware."""

from __future__ import annotations

import enum


class FaultFlag(enum.IntFlag):
    """Bits of the ``faults`` field of a machine's heartbeat."""

    OVER_CURRENT_TRIP = 0x0001  #: the hardware trip fired; output off; latched until OUTPUT_OFF
    CONTACT_OPEN = 0x0002  #: no load between the probes (live, not latched)
    HARDWARE = 0x0004  #: the machine found a fault in itself; output off while set
    WATCHDOG = 0x0008  #: output turned off after console silence; latched until OUTPUT_OFF


_NAMES = {
    FaultFlag.OVER_CURRENT_TRIP: "over-current trip",
    FaultFlag.CONTACT_OPEN: "contact open",
    FaultFlag.HARDWARE: "hardware fault",
    FaultFlag.WATCHDOG: "watchdog",
}
#: Faults the console's own monitors already handle: contact (by impedance, with a pause the
#: operator ends) and the machine's watchdog (the console's silence check has acted by then).
_HANDLED_ELSEWHERE = FaultFlag.CONTACT_OPEN | FaultFlag.WATCHDOG


def fault_names(faults: int) -> tuple[str, ...]:
    """Every bit in ``faults`` as words; bits this version does not define are kept, as
    ``fault bit 0x0010``: an unknown fault is still a fault."""
    names = [name for flag, name in _NAMES.items() if faults & flag]
    unknown = faults & ~sum(_NAMES) & 0xFFFF
    names += [f"fault bit 0x{bit:04x}" for bit in (1 << i for i in range(16)) if unknown & bit]
    return tuple(names)


def stopping_faults(faults: int) -> tuple[str, ...]:
    """The faults that must end a treatment (what a driver reports in ``DeviceStatus.faults``)."""
    return fault_names(faults & ~_HANDLED_ELSEWHERE)
