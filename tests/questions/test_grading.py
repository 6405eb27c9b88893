"""Grading of each question type against one version (pure functions, no backends)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from studyhall.questions.grading import (
    grade,
    is_answered,
    normalize_text,
    parse_number,
    valid_response_shape,
)
from studyhall.questions.models import QuestionType
from studyhall.questions.schemas import OptionRead, QuestionVersionRead


def version(
    kind: QuestionType, correct: set[str] = frozenset(), answer: dict[str, Any] | None = None
) -> QuestionVersionRead:
    ids = "ab" if kind is QuestionType.TRUE_FALSE else "abcd"
    options = (
        [OptionRead(id=i, text_html=i, explanation_html="", correct=i in correct) for i in ids]
        if kind
        in (QuestionType.SINGLE_CHOICE, QuestionType.MULTIPLE_RESPONSE, QuestionType.TRUE_FALSE)
        else []
    )
    return QuestionVersionRead(
        id=uuid.uuid4(),
        question_id=uuid.uuid4(),
        number=1,
        type=kind,
        stem_html="<p>?</p>",
        explanation_html="",
        options=options,
        answer=answer or {},
    )


SINGLE = version(QuestionType.SINGLE_CHOICE, {"b"})
MULTIPLE = version(QuestionType.MULTIPLE_RESPONSE, {"a", "c"})
TRUE_FALSE = version(QuestionType.TRUE_FALSE, {"a"})
SHORT = version(
    QuestionType.SHORT_ANSWER, answer={"accepted": ["Mitral valve", "Bicuspid", "Ærø Straße"]}
)
NUMERIC = version(QuestionType.NUMERICAL, answer={"value": 9.81, "tolerance": 0.05})
EXACT = version(QuestionType.NUMERICAL, answer={"value": 120, "tolerance": 0})


def correct(v: QuestionVersionRead, response: dict[str, Any] | None) -> bool:
    return grade(v, response).is_correct


class TestSingleChoice:
    def test_the_correct_option(self) -> None:
        result = grade(SINGLE, {"choice": "b"})
        assert (result.answered, result.is_correct, result.score) == (True, True, 1.0)

    @pytest.mark.parametrize("choice", ["a", "c", "d", "z", "B"])
    def test_other_options_and_unknown_ids(self, choice: str) -> None:
        result = grade(SINGLE, {"choice": choice})
        assert (result.answered, result.is_correct, result.score) == (True, False, 0.0)

    @pytest.mark.parametrize("response", [None, {}, {"choice": ""}, {"choice": None}])
    def test_unanswered(self, response: dict[str, Any] | None) -> None:
        result = grade(SINGLE, response)
        assert (result.answered, result.is_correct, result.score) == (False, False, 0.0)

    @pytest.mark.parametrize("choice", [["b"], {"b": 1}, 1, True])
    def test_a_choice_that_is_no_option_id_is_wrong_not_an_error(self, choice: Any) -> None:
        assert not correct(SINGLE, {"choice": choice})


class TestMultipleResponse:
    def test_exactly_the_correct_set(self) -> None:
        assert correct(MULTIPLE, {"choices": ["a", "c"]})
        assert correct(MULTIPLE, {"choices": ["c", "a"]})  # order does not matter

    def test_duplicates_do_not_change_the_set(self) -> None:
        assert correct(MULTIPLE, {"choices": ["a", "c", "a"]})

    @pytest.mark.parametrize(
        "choices", [["a"], ["c"], ["a", "b", "c"], ["a", "b", "c", "d"], ["b", "d"], ["a", "x"]]
    )
    def test_subset_superset_or_wrong_is_incorrect(self, choices: list[str]) -> None:
        result = grade(MULTIPLE, {"choices": choices})
        assert result.answered and not result.is_correct and result.score == 0.0

    def test_not_a_list(self) -> None:
        assert not correct(MULTIPLE, {"choices": "ac"})

    def test_empty_is_unanswered(self) -> None:
        assert not grade(MULTIPLE, {"choices": []}).answered


class TestTrueFalse:
    def test_true_and_false(self) -> None:
        assert correct(TRUE_FALSE, {"choice": "a"})
        assert not correct(TRUE_FALSE, {"choice": "b"})


class TestShortAnswer:
    @pytest.mark.parametrize(
        "text",
        [
            "Mitral valve",
            "mitral valve",
            "MITRAL VALVE",
            "  mitral   valve  ",
            "mitral\tvalve\n",
            "bicuspid",
            "BICUSPID",
            "ærø strasse",  # casefold: ß == ss
            "ÆRØ STRASSE",
            "\uff2d\uff49\uff54\uff52\uff41\uff4c valve",  # full-width letters, NFKC
            "mitral\u00a0valve",  # no-break space
        ],
    )
    def test_accepted_answers_ignoring_case_space_and_unicode_form(self, text: str) -> None:
        assert correct(SHORT, {"text": text})

    def test_composed_and_decomposed_accents_are_the_same(self) -> None:
        v = version(QuestionType.SHORT_ANSWER, answer={"accepted": ["Café"]})
        assert correct(v, {"text": "cafe\u0301"})  # e + combining acute
        assert correct(v, {"text": "CAFÉ"})

    @pytest.mark.parametrize("text", ["mitral", "tricuspid", "mitral valves", "mitralvalve"])
    def test_other_text_is_wrong(self, text: str) -> None:
        result = grade(SHORT, {"text": text})
        assert result.answered and not result.is_correct

    @pytest.mark.parametrize("text", ["", "   ", "\n\t"])
    def test_blank_is_unanswered(self, text: str) -> None:
        assert not grade(SHORT, {"text": text}).answered

    def test_normalize_text(self) -> None:
        assert normalize_text("  Hello\u3000WORLD ") == "hello world"


class TestNumerical:
    @pytest.mark.parametrize(
        "text",
        ["9.81", "9.76", "9.86", "9,81", " 9.8 ", "9.810", "+9.81", "981e-2"],
    )
    def test_inside_the_tolerance_including_its_boundaries(self, text: str) -> None:
        assert correct(NUMERIC, {"text": text})

    @pytest.mark.parametrize("text", ["9.75", "9.87", "-9.81", "10", "0"])
    def test_outside_the_tolerance(self, text: str) -> None:
        result = grade(NUMERIC, {"text": text})
        assert result.answered and not result.is_correct

    def test_zero_tolerance_means_exact(self) -> None:
        assert correct(EXACT, {"text": "120"})
        assert correct(EXACT, {"text": "120.0"})
        assert not correct(EXACT, {"text": "120.001"})
        assert not correct(EXACT, {"text": "119.999"})

    def test_negative_values_and_unicode_minus(self) -> None:
        v = version(QuestionType.NUMERICAL, answer={"value": -3.5, "tolerance": 0.1})
        assert correct(v, {"text": "-3.5"})
        assert correct(v, {"text": "\u22123,45"})  # typographic minus, comma decimal
        assert not correct(v, {"text": "3.5"})

    @pytest.mark.parametrize(
        "text", ["abc", "9.8.1", "1,2,3", "9,81.0", "nan", "inf", "-inf", "1e999", "0x10", "½"]
    )
    def test_garbage_is_answered_but_wrong(self, text: str) -> None:
        result = grade(NUMERIC, {"text": text})
        assert result.answered and not result.is_correct and result.score == 0.0

    @pytest.mark.parametrize(
        ("text", "expected"),
        [("1,5", 1.5), ("1 000", 1000.0), ("\u22122", -2.0), ("nan", None), ("1,000.5", None)],
    )
    def test_parse_number(self, text: str, expected: float | None) -> None:
        assert parse_number(text) == expected


class TestIsAnswered:
    @pytest.mark.parametrize(
        ("response", "answered"),
        [
            (None, False),
            ({}, False),
            ({"choice": "a"}, True),
            ({"choices": ["a"]}, True),
            ({"choices": []}, False),
            ({"text": " x "}, True),
            ({"text": "  "}, False),
        ],
    )
    def test_shapes(self, response: dict[str, Any] | None, answered: bool) -> None:
        assert is_answered(response) is answered


class TestValidResponseShape:
    @pytest.mark.parametrize(
        ("v", "response", "valid"),
        [
            (SINGLE, {"choice": "a"}, True),
            (SINGLE, {"choice": None}, True),  # cleared
            (SINGLE, {}, True),
            (SINGLE, {"choice": "z"}, False),  # not an option of this question
            (SINGLE, {"choice": ["a"]}, False),
            (SINGLE, {"choice": {"a": 1}}, False),
            (SINGLE, {"choice": 1}, False),
            (SINGLE, {"choices": ["a"]}, False),
            (SINGLE, {"choice": "a", "extra": 1}, False),
            (SINGLE, {"text": "a"}, False),
            (TRUE_FALSE, {"choice": "b"}, True),
            (TRUE_FALSE, {"choice": "c"}, False),
            (MULTIPLE, {"choices": ["a", "d"]}, True),
            (MULTIPLE, {"choices": []}, True),
            (MULTIPLE, {"choices": ["a", "q"]}, False),
            (MULTIPLE, {"choices": "a"}, False),
            (MULTIPLE, {"choices": [1]}, False),
            (MULTIPLE, {"choice": "a"}, False),
            (SHORT, {"text": "mitral"}, True),
            (SHORT, {"text": 5}, False),
            (SHORT, {"text": "x" * 1001}, False),
            (SHORT, {"choice": "a"}, False),
            (NUMERIC, {"text": "9.81"}, True),
            (NUMERIC, {"text": ["9.81"]}, False),
        ],
    )
    def test_shapes(self, v: QuestionVersionRead, response: dict[str, Any], valid: bool) -> None:
        assert valid_response_shape(v, response) is valid
