"""Contraindication screening: the questions as data, and the rule that decides who may be treated.

An *absolute* contraindication blocks the application stage, and nothing can override it. A
*relative* one blocks until a professional records an override with a reason. An unanswered
question blocks too: the screening is complete only when every question has an answer.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from importlib import resources

CONTRAINDICATIONS_RESOURCE = "contraindications.json"
#: An override reason shorter than this is not a reason.
MIN_OVERRIDE_REASON = 10


class Severity(enum.StrEnum):
    """How a contraindication weighs."""

    ABSOLUTE = "absolute"
    RELATIVE = "relative"


@dataclass(frozen=True, slots=True)
class Contraindication:
    """One screening question and what a 'yes' means."""

    id: str
    severity: Severity
    question: str
    why: str


@dataclass(frozen=True, slots=True)
class Override:
    """A professional's recorded decision to treat despite a relative contraindication."""

    contraindication_id: str
    reason: str
    practitioner: str
    at: datetime = field(default_factory=lambda: datetime.now(UTC))


class ScreeningError(ValueError):
    """A screening answer or override is malformed (unknown question, empty reason...)."""


@dataclass(frozen=True, slots=True)
class ScreeningResult:
    """The decision: may the application stage start, and if not, why not."""

    absolute: tuple[Contraindication, ...]
    relative_unresolved: tuple[Contraindication, ...]
    relative_overridden: tuple[tuple[Contraindication, Override], ...]
    unanswered: tuple[Contraindication, ...]

    @property
    def cleared(self) -> bool:
        """True when treatment may start."""
        return not (self.absolute or self.relative_unresolved or self.unanswered)

    def reasons(self) -> list[str]:
        """Why treatment may not start, one sentence each; empty when cleared."""
        reasons = [f"absolute contraindication: {c.question} — {c.why}" for c in self.absolute]
        reasons += [
            f"relative contraindication needs a professional override: {c.question}"
            for c in self.relative_unresolved
        ]
        reasons += [f"not answered: {c.question}" for c in self.unanswered]
        return reasons


@dataclass
class Screening:
    """A client's answers (``True`` = yes, the condition applies) and any overrides."""

    answers: dict[str, bool] = field(default_factory=dict)
    overrides: dict[str, Override] = field(default_factory=dict)
    screened_by: str = ""
    at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def answer(self, contraindication_id: str, applies: bool) -> None:
        """Record one answer; unknown ids are refused."""
        _known(contraindication_id)
        self.answers[contraindication_id] = bool(applies)

    def override(self, contraindication_id: str, reason: str, practitioner: str) -> None:
        """Record a professional override of a *relative* contraindication, with its reason."""
        item = _known(contraindication_id)
        if item.severity is Severity.ABSOLUTE:
            raise ScreeningError(
                f"{item.question!r} is an absolute contraindication and cannot be overridden"
            )
        if len(reason.strip()) < MIN_OVERRIDE_REASON:
            raise ScreeningError(
                f"an override needs a reason of at least {MIN_OVERRIDE_REASON} characters"
            )
        if not practitioner.strip():
            raise ScreeningError("an override must name the practitioner who made it")
        self.overrides[contraindication_id] = Override(
            contraindication_id, reason.strip(), practitioner.strip()
        )

    def evaluate(self) -> ScreeningResult:
        """Apply the rule to the current answers."""
        absolute, unresolved, overridden, unanswered = [], [], [], []
        for item in contraindications().values():
            answer = self.answers.get(item.id)
            if answer is None:
                unanswered.append(item)
            elif not answer:
                continue
            elif item.severity is Severity.ABSOLUTE:
                absolute.append(item)
            elif item.id in self.overrides:
                overridden.append((item, self.overrides[item.id]))
            else:
                unresolved.append(item)
        return ScreeningResult(
            tuple(absolute), tuple(unresolved), tuple(overridden), tuple(unanswered)
        )

    @classmethod
    def all_clear(cls, screened_by: str = "") -> Screening:
        """A screening where every question was answered 'no' (for tests and demonstrations)."""
        return cls(answers=dict.fromkeys(contraindications(), False), screened_by=screened_by)


@cache
def contraindications() -> Mapping[str, Contraindication]:
    """The shipped screening questions by id, in the order they are asked."""
    text = (
        resources.files("resources")
        .joinpath(CONTRAINDICATIONS_RESOURCE)
        .read_text(encoding="utf-8")
    )
    data = json.loads(text)
    return {
        raw["id"]: Contraindication(
            id=raw["id"],
            severity=Severity(raw["severity"]),
            question=raw["question"],
            why=raw["why"],
        )
        for raw in data["contraindications"]
    }


def _known(contraindication_id: str) -> Contraindication:
    try:
        return contraindications()[contraindication_id]
    except KeyError:
        raise ScreeningError(f"unknown screening question {contraindication_id!r}") from None
