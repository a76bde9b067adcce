"""Contraindication screening: absolute items block, relative ones need a reasoned override.

Covers ``console/screening.py`` and the data it reads, ``resources/contraindications.json``.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from importlib import resources
from typing import Any

import pytest

from console.engine.events import EngineState
from console.engine.safety import PreflightError
from console.screening import (
    MIN_OVERRIDE_REASON,
    Override,
    Screening,
    ScreeningError,
    Severity,
    contraindications,
)
from support import make_protocol

ABSOLUTE_IDS = [
    "implanted_electronics",
    "epilepsy",
    "pregnancy",
    "active_cancer",
    "heart_condition",
    "thrombosis",
    "haemophilia",
    "open_wounds",
    "cold_sore",
    "impaired_sensation",
    "alcohol_or_drugs",
]
RELATIVE_IDS = [
    "body_worn_devices",
    "breastfeeding",
    "eczema_psoriasis",
    "facial_injury",
    "metal_implants",
    "braces_or_piercings",
    "recent_facial_surgery",
    "fillers_or_botox",
    "thread_lift",
    "retinoids",
    "isotretinoin",
    "skin_sensitivity",
]
#: An adult's date of birth, for screenings built from nothing.
ADULT = date(1980, 1, 1)
GOOD_REASON = "Surgeon's written clearance seen and filed"


def raw_data() -> dict[str, Any]:
    """The shipped resource, read independently of the module under test."""
    text = resources.files("resources").joinpath("contraindications.json").read_text("utf-8")
    return json.loads(text)


def screening_with(**answers: bool) -> Screening:
    """Every question answered 'no', except the ones given; a yes to a question with a wait is
    dated yesterday (inside its wait)."""
    screening = Screening.all_clear(screened_by="Anna")
    yesterday = date.today() - timedelta(days=1)
    for contraindication_id, applies in answers.items():
        timed = applies and contraindications()[contraindication_id].wait is not None
        screening.answer(contraindication_id, applies, yesterday if timed else None)
    return screening


# -- the data file -----------------------------------------------------------------------------


def test_data_file_has_eleven_absolute_and_twelve_relative_items() -> None:
    items = raw_data()["contraindications"]
    severities = [item["severity"] for item in items]
    assert severities.count("absolute") == 11
    assert severities.count("relative") == 12
    assert len(items) == 23
    assert [item["id"] for item in items if item["severity"] == "absolute"] == ABSOLUTE_IDS
    assert [item["id"] for item in items if item["severity"] == "relative"] == RELATIVE_IDS


def test_data_file_ids_are_unique_and_the_module_reads_them_all_in_order() -> None:
    ids = [item["id"] for item in raw_data()["contraindications"]]
    assert len(set(ids)) == len(ids)
    assert list(contraindications()) == ids


@pytest.mark.parametrize("item", raw_data()["contraindications"], ids=lambda item: item["id"])
def test_every_item_has_a_readable_question_and_reason(item: dict[str, Any]) -> None:
    question, why = item["question"], item["why"]
    assert question.endswith("?")
    assert question[0].isupper()
    assert len(question.split()) >= 3
    assert why[0].isupper() and why.endswith(".")
    assert len(why.split()) >= 4
    assert item["id"].isidentifier() and item["id"].islower()


def test_module_maps_severities_and_texts_from_the_file() -> None:
    items = {item["id"]: item for item in raw_data()["contraindications"]}
    for contraindication_id, parsed in contraindications().items():
        assert parsed.severity is Severity(items[contraindication_id]["severity"])
        assert parsed.question == items[contraindication_id]["question"]
        assert parsed.why == items[contraindication_id]["why"]
    assert "Pacemaker" in contraindications()["implanted_electronics"].question


# -- all clear and unanswered -------------------------------------------------------------------


def test_all_clear_is_cleared_with_no_reasons() -> None:
    result = Screening.all_clear(screened_by="Anna").evaluate()
    assert result.cleared is True
    assert result.reasons() == []
    assert result.absolute == ()
    assert result.relative_unresolved == ()
    assert result.unanswered == ()


def test_all_clear_answers_every_question_no_and_keeps_the_screener() -> None:
    screening = Screening.all_clear(screened_by="Anna")
    assert screening.answers == dict.fromkeys(contraindications(), False)
    assert screening.screened_by == "Anna"


def test_an_empty_screening_blocks_with_every_question_unanswered() -> None:
    result = Screening().evaluate()
    assert result.cleared is False
    assert [item.id for item in result.unanswered] == list(contraindications())
    reasons = result.reasons()
    assert len(reasons) == 1 + 23
    assert reasons[0].startswith("date of birth not given")
    assert all(reason.startswith("not answered: ") for reason in reasons[1:])


def test_one_unanswered_question_blocks_and_is_named() -> None:
    screening = Screening(date_of_birth=ADULT)
    for contraindication_id in contraindications():
        if contraindication_id != "pregnancy":
            screening.answer(contraindication_id, False)
    result = screening.evaluate()
    assert result.cleared is False
    assert [item.id for item in result.unanswered] == ["pregnancy"]
    assert result.reasons() == [f"not answered: {contraindications()['pregnancy'].question}"]


def test_unknown_question_id_is_refused() -> None:
    screening = Screening()
    with pytest.raises(ScreeningError, match="unknown screening question 'pacemaker'"):
        screening.answer("pacemaker", True)
    assert screening.answers == {}


# -- absolute ----------------------------------------------------------------------------------


def test_pacemaker_blocks_and_the_verdict_says_why() -> None:
    result = screening_with(implanted_electronics=True).evaluate()
    item = contraindications()["implanted_electronics"]
    assert result.cleared is False
    assert result.absolute == (item,)
    assert result.reasons() == [f"absolute contraindication: {item.question} — {item.why}"]
    assert "implanted electronics" in result.reasons()[0]


@pytest.mark.parametrize("contraindication_id", ABSOLUTE_IDS)
def test_every_absolute_item_blocks_alone(contraindication_id: str) -> None:
    result = screening_with(**{contraindication_id: True}).evaluate()
    assert result.cleared is False
    assert [item.id for item in result.absolute] == [contraindication_id]
    assert result.relative_unresolved == ()
    assert result.reasons()[0].startswith("absolute contraindication: ")


@pytest.mark.parametrize("contraindication_id", ABSOLUTE_IDS)
def test_overriding_an_absolute_item_is_refused(contraindication_id: str) -> None:
    screening = screening_with(**{contraindication_id: True})
    with pytest.raises(ScreeningError, match="absolute contraindication and cannot be overridden"):
        screening.override(contraindication_id, GOOD_REASON, "Dr. Weber")
    assert screening.overrides == {}
    assert screening.evaluate().cleared is False


def test_an_override_slipped_in_for_an_absolute_item_is_ignored_by_the_verdict() -> None:
    """Even an override stored behind ``override()``'s back (a corrupt record) cannot clear it."""
    screening = screening_with(implanted_electronics=True)
    screening.overrides["implanted_electronics"] = Override(
        "implanted_electronics", GOOD_REASON, "Dr. Weber"
    )
    result = screening.evaluate()
    assert result.cleared is False
    assert [item.id for item in result.absolute] == ["implanted_electronics"]
    assert result.relative_overridden == ()


def test_absolute_still_blocks_when_a_relative_item_is_overridden() -> None:
    screening = screening_with(pregnancy=True, retinoids=True)
    screening.override("retinoids", "Stopped tretinoin three weeks ago", "Dr. Weber")
    result = screening.evaluate()
    assert result.cleared is False
    assert [item.id for item in result.absolute] == ["pregnancy"]
    assert result.relative_unresolved == ()
    assert [item.id for item, _ in result.relative_overridden] == ["retinoids"]


def test_an_absolute_item_answered_no_does_not_block() -> None:
    screening = screening_with(implanted_electronics=True)
    screening.answer("implanted_electronics", False)
    assert screening.evaluate().cleared is True


# -- relative ----------------------------------------------------------------------------------


@pytest.mark.parametrize("contraindication_id", RELATIVE_IDS)
def test_a_relative_item_blocks_until_overridden(contraindication_id: str) -> None:
    screening = screening_with(**{contraindication_id: True})
    item = contraindications()[contraindication_id]
    before = screening.evaluate()
    assert before.cleared is False
    assert before.relative_unresolved == (item,)
    (reason,) = before.reasons()
    assert reason.startswith(
        f"relative contraindication needs a professional override: {item.question}"
    )
    if item.wait is not None:  # dated yesterday: the wait is said
        assert f"{item.event} on {date.today() - timedelta(days=1)}: wait until " in reason

    screening.override(contraindication_id, GOOD_REASON, "Dr. Weber")

    after = screening.evaluate()
    assert after.cleared is True
    assert after.reasons() == []
    assert after.relative_unresolved == ()
    ((overridden_item, override),) = after.relative_overridden
    assert overridden_item == item
    assert override.contraindication_id == contraindication_id
    assert override.reason == GOOD_REASON
    assert override.practitioner == "Dr. Weber"


def test_override_strips_reason_and_practitioner() -> None:
    screening = screening_with(metal_implants=True)
    screening.override("metal_implants", f"  {GOOD_REASON}\n", "  Dr. Weber ")
    override = screening.overrides["metal_implants"]
    assert override.reason == GOOD_REASON
    assert override.practitioner == "Dr. Weber"
    assert override.at.tzinfo is not None


@pytest.mark.parametrize("reason", ["", " ", "   \t\n  "], ids=["empty", "space", "whitespace"])
def test_an_override_without_a_reason_is_refused(reason: str) -> None:
    screening = screening_with(fillers_or_botox=True)
    with pytest.raises(ScreeningError, match=r"an override needs a reason of at least \d+"):
        screening.override("fillers_or_botox", reason, "Dr. Weber")
    assert screening.overrides == {}
    result = screening.evaluate()
    assert result.cleared is False
    assert [item.id for item in result.relative_unresolved] == ["fillers_or_botox"]


def test_a_reason_shorter_than_the_minimum_is_refused_and_the_minimum_is_accepted() -> None:
    screening = screening_with(skin_sensitivity=True)
    with pytest.raises(ScreeningError, match=f"at least {MIN_OVERRIDE_REASON} characters"):
        screening.override("skin_sensitivity", "x" * (MIN_OVERRIDE_REASON - 1), "Dr. Weber")
    # Padding does not count towards the length.
    with pytest.raises(ScreeningError):
        screening.override("skin_sensitivity", "  short  " + " " * 20, "Dr. Weber")
    screening.override("skin_sensitivity", "y" * MIN_OVERRIDE_REASON, "Dr. Weber")
    assert screening.evaluate().cleared is True


def test_an_override_must_name_the_practitioner() -> None:
    screening = screening_with(metal_implants=True)
    with pytest.raises(ScreeningError, match="must name the practitioner"):
        screening.override("metal_implants", GOOD_REASON, "   ")
    assert screening.evaluate().cleared is False


def test_overriding_an_unknown_item_is_refused() -> None:
    screening = Screening.all_clear()
    with pytest.raises(ScreeningError, match="unknown screening question 'nosuch'"):
        screening.override("nosuch", GOOD_REASON, "Dr. Weber")


def test_each_relative_item_needs_its_own_override() -> None:
    screening = screening_with(metal_implants=True, retinoids=True)
    screening.override("metal_implants", GOOD_REASON, "Dr. Weber")
    result = screening.evaluate()
    assert result.cleared is False
    assert [item.id for item in result.relative_unresolved] == ["retinoids"]
    assert [item.id for item, _ in result.relative_overridden] == ["metal_implants"]


def test_reasons_list_absolute_then_relative_then_unanswered() -> None:
    screening = Screening(date_of_birth=ADULT)
    screening.answer("epilepsy", True)
    screening.answer("retinoids", True, date.today())
    result = screening.evaluate()
    reasons = result.reasons()
    assert reasons[0].startswith("absolute contraindication: Epilepsy")
    assert reasons[1].startswith("relative contraindication needs a professional override: ")
    assert "Retinoid creams" in reasons[1]
    assert all(reason.startswith("not answered: ") for reason in reasons[2:])
    assert len(reasons) == 2 + 21


# -- the engine honours the verdict -------------------------------------------------------------


def test_engine_refuses_to_prepare_for_a_client_with_a_pacemaker(make_engine) -> None:
    engine, machine, _ = make_engine()
    result = screening_with(implanted_electronics=True).evaluate()
    with pytest.raises(PreflightError) as caught:
        engine.prepare(make_protocol(), screening=result)
    assert caught.value.problems == [f"screening: {result.reasons()[0]}"]
    assert machine.output_on is False


def test_engine_prepares_once_a_relative_item_is_overridden(make_engine) -> None:
    engine, _, _ = make_engine()
    screening = screening_with(recent_facial_surgery=True)
    with pytest.raises(PreflightError, match="needs a professional override"):
        engine.prepare(make_protocol(), screening=screening.evaluate())
    screening.override("recent_facial_surgery", GOOD_REASON, "Dr. Weber")
    engine.prepare(make_protocol(), screening=screening.evaluate())
    assert engine.state is EngineState.READY
