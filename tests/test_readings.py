"""The treatment readouts' words (console/readings.py): output off is off whatever the setting,
the contact is judged with the supervisor's thresholds, and an old reading is never shown as
the contact now."""

from __future__ import annotations

import math

import pytest

from console.engine.events import EngineState, SafetyEvent, SafetyKind
from console.engine.safety import ContactQuality, SafetyLimits
from console.readings import (
    STATE_WORDS,
    Tone,
    contact_reading,
    describe_figure,
    output_reading,
    safety_tone,
    safety_words,
    state_words,
)

LIMITS = SafetyLimits()


def test_output_off_shows_off_with_the_setting_apart() -> None:
    reading = output_reading(False, setpoint_ua=200.0, target_ua=200.0)
    assert not reading.on
    assert reading.headline == "Off"
    assert reading.current == ""  # no "200 µA" beside "off": that is what confused people
    assert reading.setting == "setting 200 µA"
    assert reading.tone is Tone.NEUTRAL
    assert reading.describe() == "Output off · setting 200 µA"


def test_output_on_shows_the_current_now_and_the_setting() -> None:
    reading = output_reading(True, setpoint_ua=120.0, target_ua=200.0)
    assert reading.on and reading.tone is Tone.OK
    assert reading.describe() == "Output on · 120 µA · setting 200 µA"


def test_an_unconfirmed_stop_is_red_whatever_the_engine_thinks() -> None:
    reading = output_reading(False, None, 150.0, machine_unreachable=True)
    assert reading.on and reading.tone is Tone.DANGER
    assert reading.headline == "Not confirmed off"


@pytest.mark.parametrize(
    ("ohm", "quality", "tone"),
    [
        (30_000.0, ContactQuality.GOOD, Tone.OK),
        (LIMITS.contact_high_ohm + 1, ContactQuality.HIGH, Tone.WARNING),
        (LIMITS.contact_max_ohm + 1, ContactQuality.LOST, Tone.DANGER),
        (math.inf, ContactQuality.LOST, Tone.DANGER),
        (LIMITS.contact_min_ohm - 1, ContactQuality.SHORT, Tone.DANGER),
    ],
)
def test_a_reading_measured_now_uses_the_supervisors_thresholds(
    ohm: float, quality: ContactQuality, tone: Tone
) -> None:
    reading = contact_reading(ohm, measured_now=True, output_on=True, limits=LIMITS)
    assert reading.quality is quality
    assert reading.tone is tone
    assert reading.measured_now


def test_the_thresholds_follow_the_limits_given() -> None:
    strict = SafetyLimits(contact_max_ohm=40_000.0, contact_high_ohm=35_000.0)
    assert contact_reading(38_000.0, True, True, LIMITS).quality is ContactQuality.GOOD
    assert contact_reading(38_000.0, True, True, strict).quality is ContactQuality.HIGH
    assert contact_reading(45_000.0, True, True, strict).quality is ContactQuality.LOST


def test_a_loss_is_not_shown_as_lost_once_the_output_is_off() -> None:
    """The probes may be back on the skin: the meter says what it knows, an old reading."""
    reading = contact_reading(math.inf, measured_now=False, output_on=False, limits=LIMITS)
    assert reading.tone is Tone.NEUTRAL
    assert not reading.measured_now
    assert reading.words == "Not measured — output off"
    assert reading.detail == "last reading: lost"
    assert reading.quality is ContactQuality.LOST  # kept for the needle and the records


def test_a_good_reading_is_not_vouched_for_after_the_output_goes_back_on() -> None:
    reading = contact_reading(30_000.0, measured_now=False, output_on=True, limits=LIMITS)
    assert reading.words == "Measuring…"
    assert reading.tone is Tone.NEUTRAL


def test_before_any_measurement() -> None:
    reading = contact_reading(None, measured_now=False, output_on=False, limits=LIMITS)
    assert reading.words == "Not measured yet"
    assert reading.figure == "" and reading.detail == ""


def test_engineering_figures() -> None:
    assert describe_figure(31_840.0) == "31.8 kΩ"
    assert describe_figure(240.0) == "240 Ω"
    assert describe_figure(math.inf) == "over 10 MΩ"
    assert describe_figure(None) == ""


def test_every_state_has_plain_words_without_the_engines_names() -> None:
    jargon = ("engine", "idle", "aborted", "ramping")
    for state in EngineState:
        words, _ = state_words(state)
        assert not any(word in words.lower() for word in jargon), words
    assert set(STATE_WORDS) == set(EngineState)
    assert state_words(EngineState.ABORTED) == ("Stopped — output off", Tone.DANGER)


def test_a_contact_loss_is_red_and_said_without_figures() -> None:
    event = SafetyEvent(
        SafetyKind.CONTACT_LOST,
        12.0,
        "Contact lost (open circuit): a probe has lifted or the gel has dried. ...",
        "output off, paused",
    )
    assert safety_tone(SafetyKind.CONTACT_LOST) is Tone.DANGER
    assert "open circuit" not in safety_words(event)
    assert safety_words(event).startswith("Contact lost")
    assert safety_tone(SafetyKind.CONTACT_HIGH) is Tone.WARNING  # the output goes on
    assert safety_tone(SafetyKind.OPERATOR_STOP) is Tone.WARNING  # asked for
    other = SafetyEvent(SafetyKind.OVER_CURRENT, 1.0, "Over-current: ...", "output off")
    assert safety_words(other) == other.message
