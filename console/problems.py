"""Problems as data: the sentence an operator reads, and what it is about.

Every rule check of the core (a waveform's hard limits, a machine's capabilities, a protocol's
steps and zone rules) returns :class:`RuleProblem` values. Each *is* its sentence (a ``str``, so
it prints, joins and compares as one) and also carries the step it is about, the fields (named
as in a protocol pack: ``current_ua``, ``duration_s``, ``sessions``...) and a kind. The pack
reader points at the line of those fields and the editor marks their cells, without ever reading
the words: rewording a sentence cannot move an error to the wrong place.
"""

from __future__ import annotations

import enum


class ProblemKind(enum.StrEnum):
    """What sort of rule a problem breaks."""

    INVALID = "invalid"  #: a value of the wrong type, empty or malformed
    MISSING_FIELD = "missing_field"  #: a required field is absent
    UNKNOWN_ZONE = "unknown_zone"  #: the zone is not in the face map
    OVER_LIMIT = "over_limit"  #: beyond a hard limit of microcurrent
    ZONE_RULE = "zone_rule"  #: beyond what the zone allows (current, time, direct current)
    CHARGE_BALANCE = "charge_balance"  #: the step would leave charge one way under the probes
    PLACEMENT = "placement"  #: where the probes go breaks a keep-out rule
    MACHINE = "machine"  #: the connected machine cannot do it


class RuleProblem(str):
    """One problem: the sentence itself, plus ``step`` (1-based, or None for the protocol as a
    whole), ``fields`` (what to mark) and ``kind`` (:class:`ProblemKind`)."""

    __slots__ = ("fields", "kind", "step")

    step: int | None
    fields: tuple[str, ...]
    kind: ProblemKind

    def __new__(
        cls,
        sentence: str,
        *,
        fields: tuple[str, ...] = (),
        kind: ProblemKind = ProblemKind.INVALID,
        step: int | None = None,
    ) -> RuleProblem:
        problem = super().__new__(cls, sentence)
        problem.fields = tuple(fields)
        problem.kind = kind
        problem.step = step
        return problem

    def in_step(self, number: int, zone: str) -> RuleProblem:
        """This problem as one of step ``number`` on ``zone``: ``step 3 (cheek_right): ...``."""
        return RuleProblem(
            f"step {number} ({zone}): {self}", fields=self.fields, kind=self.kind, step=number
        )

    def prefixed(self, prefix: str) -> RuleProblem:
        """The same problem with ``prefix`` before its sentence (``protocol: ``...)."""
        return RuleProblem(f"{prefix}{self}", fields=self.fields, kind=self.kind, step=self.step)

    def __reduce__(self) -> tuple[object, ...]:  # pickles and copies keep what it is about
        return (_rebuild, (str(self), self.fields, self.kind.value, self.step))


def _rebuild(sentence: str, fields: tuple[str, ...], kind: str, step: int | None) -> RuleProblem:
    return RuleProblem(sentence, fields=fields, kind=ProblemKind(kind), step=step)
