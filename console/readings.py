"""What the treatment screens say, in the practitioner's words, from what the machine is doing.

One place turns the engine's state, the machine's own report and the latest contact measurement
into the readouts' words, so the window, the chair view and the tests cannot disagree: output
off is shown as off whatever the setting, the contact is judged with the supervisor's own
thresholds, and a contact reading taken before the output went off is shown as an old reading,
never as the contact now. Engineering figures (kΩ, µC, the engine's state names) are kept apart,
for the screens to show when the practitioner asks for them.

No Qt here: the readings are plain values, tested headless.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

from console.engine.events import EngineState, SafetyEvent, SafetyKind
from console.engine.safety import ContactQuality, SafetyLimits, contact_quality


class Tone(enum.StrEnum):
    """How a reading is coloured: the same four tones everywhere on screen."""

    NEUTRAL = "neutral"  #: nothing to act on (idle, output off as expected, not measured)
    OK = "ok"  #: as it should be
    WARNING = "warning"  #: act soon (poor contact, paused)
    DANGER = "danger"  #: act now (contact lost, probes touching, output state unknown)


#: The treatment's state in plain words (the status line and the chair view).
STATE_WORDS: dict[EngineState, str] = {
    EngineState.IDLE: "No treatment running",
    EngineState.READY: "Ready to start",
    EngineState.RAMPING: "Treating — current rising",
    EngineState.RUNNING: "Treating",
    EngineState.PAUSED: "Paused — output off",
    EngineState.FINISHED: "Finished — output off",
    EngineState.ABORTED: "Stopped — output off",
    EngineState.INTERRUPTED: "Interrupted — output off",
}

_STATE_TONES: dict[EngineState, Tone] = {
    EngineState.IDLE: Tone.NEUTRAL,
    EngineState.READY: Tone.NEUTRAL,
    EngineState.RAMPING: Tone.OK,
    EngineState.RUNNING: Tone.OK,
    EngineState.PAUSED: Tone.WARNING,
    EngineState.FINISHED: Tone.NEUTRAL,
    EngineState.ABORTED: Tone.DANGER,
    EngineState.INTERRUPTED: Tone.DANGER,
}


def state_words(state: EngineState) -> tuple[str, Tone]:
    """The treatment's state for the practitioner, and its tone."""
    return STATE_WORDS[state], _STATE_TONES[state]


@dataclass(frozen=True, slots=True)
class OutputReading:
    """What the output readout shows: on or off first, the current apart from the setting."""

    on: bool  #: the output is (or may be) on
    headline: str  #: ``On`` / ``Off`` / ``Not confirmed off``
    current: str  #: the current now (``185 µA``), ``""`` with the output off
    setting: str  #: the step's setting (``setting 200 µA``), or ``""`` before a step
    tone: Tone

    def describe(self) -> str:
        """One line: ``Output on · 185 µA · setting 200 µA``."""
        return " · ".join(
            part for part in (f"Output {self.headline.lower()}", self.current, self.setting) if part
        )


def output_reading(
    output_on: bool,
    setpoint_ua: float | None,
    target_ua: float | None,
    machine_unreachable: bool = False,
) -> OutputReading:
    """The output as the engine drives the machine (``output_on``: the engine's
    :attr:`~console.engine.runner.TreatmentEngine.output_on`, false from the moment a pause or
    stop is asked for), whatever the setting says.

    ``machine_unreachable``: the session ended without the machine confirming its output off
    (the practitioner must lift the probes and switch it off), shown in red.
    """
    setting = f"setting {target_ua:.0f} µA" if target_ua is not None else ""
    if machine_unreachable:
        return OutputReading(True, "Not confirmed off", "", setting, Tone.DANGER)
    if not output_on:
        return OutputReading(False, "Off", "", setting, Tone.NEUTRAL)
    now = f"{setpoint_ua:.0f} µA" if setpoint_ua is not None else ""
    return OutputReading(True, "On", now, setting, Tone.OK)


#: The contact's quality in the practitioner's words.
CONTACT_WORDS: dict[ContactQuality, str] = {
    ContactQuality.UNKNOWN: "Not measured yet",
    ContactQuality.GOOD: "Good contact",
    ContactQuality.HIGH: "Poor contact — re-apply gel",
    ContactQuality.LOST: "Contact lost — probe lifted or gel dry",
    ContactQuality.SHORT: "Probes touching — separate them",
}

#: A reading measured now, in a word or two (the chair view's large tile).
_SHORT_WORDS: dict[ContactQuality, str] = {
    ContactQuality.UNKNOWN: "—",
    ContactQuality.GOOD: "Good",
    ContactQuality.HIGH: "Poor — gel",
    ContactQuality.LOST: "Lost",
    ContactQuality.SHORT: "Touching",
}

#: A reading from before the output went off, in a few words.
_LAST_WORDS: dict[ContactQuality, str] = {
    ContactQuality.UNKNOWN: "none",
    ContactQuality.GOOD: "good",
    ContactQuality.HIGH: "poor",
    ContactQuality.LOST: "lost",
    ContactQuality.SHORT: "probes touching",
}

_CONTACT_TONES: dict[ContactQuality, Tone] = {
    ContactQuality.UNKNOWN: Tone.NEUTRAL,
    ContactQuality.GOOD: Tone.OK,
    ContactQuality.HIGH: Tone.WARNING,
    ContactQuality.LOST: Tone.DANGER,
    ContactQuality.SHORT: Tone.DANGER,
}


@dataclass(frozen=True, slots=True)
class ContactReading:
    """What the contact meter shows."""

    quality: ContactQuality
    words: str  #: the reading in plain words (``Good contact``)
    short: str  #: the same in a word or two, for a large tile (``Good``)
    detail: str  #: what the words rest on (``measured now``, ``last reading: lost``)
    figure: str  #: the engineering figure (``31.8 kΩ``), ``""`` when there is none
    tone: Tone
    measured_now: bool  #: measured since the output went on; False: an old reading or none
    impedance_ohm: float | None  #: where the meter's needle points (None: no needle)


def contact_reading(
    impedance_ohm: float | None, measured_now: bool, output_on: bool, limits: SafetyLimits
) -> ContactReading:
    """The contact, judged with the supervisor's thresholds (``limits``).

    The contact is measured only while current flows. ``measured_now``: ``impedance_ohm`` was
    measured since the output last went on. Any other reading is shown as what it is, one from
    before: after a loss the probes may be back on the skin, so the meter no longer says "lost";
    a good reading is not vouched for either. The first measurement once the output is on
    again replaces it.
    """
    quality = contact_quality(impedance_ohm, limits)
    figure = describe_figure(impedance_ohm)
    if measured_now and impedance_ohm is not None:
        words, tone = CONTACT_WORDS[quality], _CONTACT_TONES[quality]
        short = _SHORT_WORDS[quality]
        return ContactReading(
            quality, words, short, "measured now", figure, tone, True, impedance_ohm
        )
    last = f"last reading: {_LAST_WORDS[quality]}" if impedance_ohm is not None else ""
    if output_on:
        words = short = "Measuring…"
    elif impedance_ohm is None:
        words, short = CONTACT_WORDS[ContactQuality.UNKNOWN], "—"
    else:
        words, short = "Not measured — output off", "—"
    return ContactReading(quality, words, short, last, figure, Tone.NEUTRAL, False, impedance_ohm)


def describe_figure(impedance_ohm: float | None) -> str:
    """``31.8 kΩ``, ``240 Ω``, ``over 10 MΩ`` (nothing flows), or ``""``."""
    if impedance_ohm is None:
        return ""
    if math.isinf(impedance_ohm) or impedance_ohm > 1e7:
        return "over 10 MΩ"
    if impedance_ohm >= 1000:
        return f"{impedance_ohm / 1000:.1f} kΩ"
    return f"{impedance_ohm:.0f} Ω"


#: Safety events as the practitioner reads them in the window: what happened and what to do.
#: The engine's own message (with its figures) is what the records keep.
_PLAIN_SAFETY: dict[SafetyKind, str] = {
    SafetyKind.CONTACT_LOST: (
        "Contact lost: a probe has lifted or the gel has dried. The output is off. Put both "
        "probes back on gelled skin, then press Resume (Space)."
    ),
    SafetyKind.SHORT_CIRCUIT: (
        "The probes are touching each other. The output is off. Separate them, then press "
        "Resume (Space)."
    ),
}


def safety_words(event: SafetyEvent) -> str:
    """The window's sentence for ``event``: plain words where the engine's carry figures."""
    return _PLAIN_SAFETY.get(event.kind, event.message)


def safety_tone(kind: SafetyKind) -> Tone:
    """How the window colours a safety event: a contact loss is as red as a trip (the output
    stopped without the practitioner asking); a prompt that leaves the output on is amber."""
    if kind in (
        SafetyKind.CONTACT_HIGH,
        SafetyKind.UNDER_DELIVERY,
        SafetyKind.GEL_REAPPLIED,  # the practitioner's own pause
        SafetyKind.OPERATOR_STOP,
    ):
        return Tone.WARNING
    return Tone.DANGER
