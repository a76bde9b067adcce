"""Fault specs for the simulated machine: ``NAME@SECONDS``, ``NAME@SECONDS+DURATION``, ``MM:SS``.

Covers ``console/faults.py``; the valid names are the simulator's :class:`SimFault` values.
"""

from __future__ import annotations

import pytest

from console.drivers import DriverError
from console.engine.clock import VirtualClock
from console.faults import FaultInjector, FaultSpec, parse_fault_spec
from device_drivers.simulator import SimFault, SimulatedMachine

KNOWN: tuple[str, ...] = tuple(fault.value for fault in SimFault)


def test_the_simulator_offers_the_eight_documented_faults() -> None:
    assert KNOWN == (
        "contact_loss",
        "short_circuit",
        "disconnect",
        "driver_error",
        "over_current",
        "stall",
        "gel_dry",
        "polarity_stuck",
    )
    machine = SimulatedMachine(VirtualClock(), seed=1)
    assert isinstance(machine, FaultInjector)
    assert machine.fault_names == KNOWN


# -- accepted ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("contact_loss@30", FaultSpec("contact_loss", 30.0, None)),
        ("disconnect@0", FaultSpec("disconnect", 0.0, None)),
        ("gel_dry@12.5", FaultSpec("gel_dry", 12.5, None)),
        ("contact_loss@90+5", FaultSpec("contact_loss", 90.0, 5.0)),
        ("short_circuit@1.5+0.25", FaultSpec("short_circuit", 1.5, 0.25)),
        ("disconnect@12:30", FaultSpec("disconnect", 750.0, None)),
        ("stall@0:05", FaultSpec("stall", 5.0, None)),
        ("over_current@1:30+0:10", FaultSpec("over_current", 90.0, 10.0)),
        ("driver_error@2:00.5+1:00", FaultSpec("driver_error", 120.5, 60.0)),
        ("  contact_loss @ 30 + 5  ", FaultSpec("contact_loss", 30.0, 5.0)),
    ],
)
def test_valid_specs_parse(text: str, expected: FaultSpec) -> None:
    assert parse_fault_spec(text, KNOWN) == expected


@pytest.mark.parametrize("name", KNOWN)
def test_every_simulator_fault_name_is_accepted(name: str) -> None:
    spec = parse_fault_spec(f"{name}@10+2", KNOWN)
    assert spec == FaultSpec(name, 10.0, 2.0)


def test_without_a_known_list_any_lower_case_name_passes() -> None:
    assert parse_fault_spec("anything_goes@3") == FaultSpec("anything_goes", 3.0)


def test_describe_reads_as_a_sentence() -> None:
    assert parse_fault_spec("contact_loss@30+5", KNOWN).describe() == "contact_loss at 30 s for 5 s"
    assert parse_fault_spec("disconnect@12:30", KNOWN).describe() == "disconnect at 750 s"
    assert FaultSpec("gel_dry", 2.5, 0.5).describe() == "gel_dry at 2.5 s for 0.5 s"


def test_fault_spec_is_immutable() -> None:
    spec = parse_fault_spec("stall@1", KNOWN)
    with pytest.raises(AttributeError):
        spec.at_s = 2.0  # type: ignore[misc]


# -- refused -----------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["bogus@1", "contact@30", "contactloss@30+5", "estop@0:10"])
def test_an_unknown_name_is_refused_naming_the_spec_and_every_valid_name(text: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_fault_spec(text, KNOWN)
    message = str(caught.value)
    name = text.split("@")[0]
    assert message.startswith(f"unknown fault {name!r} in {text!r}; known faults: ")
    assert message.endswith(", ".join(KNOWN))
    for valid in KNOWN:
        assert valid in message


@pytest.mark.parametrize(
    ("text", "bad"),
    [
        ("contact_loss@-1", "-1"),
        ("contact_loss@-0.5+5", "-0.5"),
        ("disconnect@-1:30", "-1:30"),
        ("contact_loss@30+-5", "-5"),
    ],
)
def test_a_negative_time_is_refused(text: str, bad: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_fault_spec(text, KNOWN)
    assert str(caught.value) == f"fault {text!r}: time {bad!r} must be zero or more seconds"


@pytest.mark.parametrize(
    ("text", "bad"),
    [("contact_loss@nan", "nan"), ("contact_loss@inf", "inf"), ("stall@1+inf", "inf")],
)
def test_a_time_that_is_not_finite_is_refused(text: str, bad: str) -> None:
    with pytest.raises(ValueError, match=f"time '{bad}' must be zero or more seconds"):
        parse_fault_spec(text, KNOWN)


@pytest.mark.parametrize(
    ("text", "bad"),
    [
        ("contact_loss@soon", "soon"),
        ("contact_loss@30s", "30s"),
        ("disconnect@1:2:3", "1:2:3"),
        ("disconnect@ab:30", "ab:30"),
        ("contact_loss@30+long", "long"),
        ("contact_loss@@30", "@30"),
    ],
)
def test_a_time_that_is_not_a_number_is_refused(text: str, bad: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_fault_spec(text, KNOWN)
    assert str(caught.value) == f"fault {text!r}: {bad!r} is not a time (seconds or MM:SS)"


@pytest.mark.parametrize("text", ["contact_loss@30+0", "contact_loss@30+0:00"])
def test_a_zero_duration_is_refused(text: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_fault_spec(text, KNOWN)
    assert str(caught.value) == f"fault {text!r}: the duration must be above 0 s"


@pytest.mark.parametrize(
    "text",
    [
        "contact_loss",  # no '@'
        "contact_loss 30",  # no '@'
        "contact_loss30",  # no '@'
        "",
        "   ",
        "@30",
        "contact_loss@",
        "contact_loss@30+",
        "Contact_Loss@30",
        "contact-loss@30",
        "%$#!",
    ],
)
def test_garbage_and_a_missing_at_sign_are_refused_naming_the_spec(text: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_fault_spec(text, KNOWN)
    message = str(caught.value)
    assert message.startswith(f"fault {text!r} does not parse; ")
    assert "write NAME@SECONDS or NAME@SECONDS+DURATION" in message
    assert "e.g. contact_loss@90+5" in message
    assert message.endswith("faults: " + ", ".join(KNOWN))  # names the right ones


def test_a_refused_spec_is_a_value_error_not_a_crash() -> None:
    for text in ["bogus@1", "contact_loss@-1", "contact_loss", "contact_loss@x"]:
        with pytest.raises(ValueError):
            parse_fault_spec(text, KNOWN)


# -- scheduling on the simulator ------------------------------------------------------------------


def test_the_simulator_refuses_an_unknown_fault_by_name() -> None:
    machine = SimulatedMachine(VirtualClock(), seed=1)
    with pytest.raises(DriverError, match="unknown fault 'bogus'; known faults: contact_loss"):
        machine.schedule_fault("bogus", 1.0)


def test_a_parsed_spec_schedules_on_the_simulator_at_its_clock_time() -> None:
    clock = VirtualClock()
    machine = SimulatedMachine(clock, seed=1)
    machine.open()
    spec = parse_fault_spec("gel_dry@0:02+3", machine.fault_names)
    machine.schedule_fault(spec.name, clock.now() + spec.at_s, spec.duration_s)
    clock.advance(1.0)
    assert SimFault.GEL_DRY not in machine.active_faults
    clock.advance(2.0)  # t = 3: started at 2
    assert SimFault.GEL_DRY in machine.active_faults
    clock.advance(3.0)  # t = 6: ended at 5
    assert SimFault.GEL_DRY not in machine.active_faults
    machine.close()


@pytest.mark.parametrize("time", ["1:-5", "-0:30", "1:75", "1:60", "a:10", "1:"])
def test_a_malformed_mm_ss_is_refused(time: str) -> None:
    with pytest.raises(ValueError, match=r"is not a time|needs 0–59|must be zero or more"):
        parse_fault_spec(f"contact_loss@{time}", KNOWN)
