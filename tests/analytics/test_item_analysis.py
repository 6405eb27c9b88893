"""Item analysis numbers on hand-built response sets (pure functions)."""

from __future__ import annotations

import uuid

import pytest

from studyhall.analytics.items import (
    OptionInfo,
    by_version,
    discrimination,
    group_size,
    item_stats,
    to_response_row,
)
from studyhall.analytics.schemas import ResponseRow
from studyhall.analytics.service.items import plain_label

VERSION = uuid.UUID(int=1)
OPTIONS = [
    OptionInfo("a", "Left atrium", False),
    OptionInfo("b", "Left ventricle", True),
    OptionInfo("c", "Right ventricle", False),
    OptionInfo("d", "Aorta", False),
]


def row(
    n: int, percent: float | None, response: dict[str, object] | None, correct: bool
) -> ResponseRow:
    return ResponseRow(
        attempt_id=uuid.UUID(int=1000 + n),
        question_version_id=VERSION,
        response=response,
        is_correct=correct,
        attempt_percent=percent,
    )


# Ten attempts scoring 100, 90, ..., 10 percent. Right (option b): those scoring 60 or more,
# and the one scoring 20. Wrong: 50 -> a, 40 -> c, 30 -> a; 10 left it unanswered.
SINGLE = [
    row(0, 100, {"choice": "b"}, True),
    row(1, 90, {"choice": "b"}, True),
    row(2, 80, {"choice": "b"}, True),
    row(3, 70, {"choice": "b"}, True),
    row(4, 60, {"choice": "b"}, True),
    row(5, 50, {"choice": "a"}, False),
    row(6, 40, {"choice": "c"}, False),
    row(7, 30, {"choice": "a"}, False),
    row(8, 20, {"choice": "b"}, True),
    row(9, 10, None, False),
]


def test_single_choice_item() -> None:
    stats = item_stats(SINGLE, OPTIONS)
    assert (stats.responses, stats.answered, stats.correct) == (10, 9, 6)
    assert stats.p_value == 0.6  # 6 of 10; the unanswered one counts as wrong
    # Groups of round(0.27 * 10) = 3: upper (100, 90, 80) all right = 1.0; lower (30, 20, 10)
    # one right = 1/3; D = 2/3.
    assert stats.group_size == 3
    assert stats.discrimination == 0.6667
    picks = {o.option_id: (o.picks, o.percent, o.correct) for o in stats.options}
    assert picks == {
        "a": (2, 22.22, False),
        "b": (6, 66.67, True),
        "c": (1, 11.11, False),
        "d": (0, 0.0, False),
    }


def test_multiple_response_shares_add_up_to_more_than_100() -> None:
    rows = [
        row(0, 90, {"choices": ["a", "b"]}, True),
        row(1, 60, {"choices": ["a"]}, False),
        row(2, 30, {"choices": ["b", "c"]}, False),
        row(3, 10, {"choices": ["a", "b", "zz"]}, False),  # an unknown id is ignored
    ]
    stats = item_stats(rows, OPTIONS[:3])
    picks = {o.option_id: (o.picks, o.percent) for o in stats.options}
    assert picks == {"a": (3, 75.0), "b": (3, 75.0), "c": (1, 25.0)}
    # round(0.27 * 4) = 1: the top attempt was right, the bottom one wrong.
    assert (stats.group_size, stats.discrimination, stats.p_value) == (1, 1.0, 0.25)


def test_negative_discrimination_and_text_answers() -> None:
    rows = [
        row(0, 95, {"text": "41"}, False),
        row(1, 85, {"text": "41"}, False),
        row(2, 50, {"text": " "}, False),  # blank text is not an answer
        row(3, 20, {"text": "42"}, True),
        row(4, 10, {"text": "42"}, True),
    ]
    stats = item_stats(rows)
    assert stats.answered == 4 and stats.options == []
    assert stats.discrimination == -1.0


@pytest.mark.parametrize(
    ("scored", "size"), [(0, 0), (1, 0), (2, 1), (4, 1), (5, 1), (6, 2), (10, 3), (100, 27)]
)
def test_group_sizes(scored: int, size: int) -> None:
    assert group_size(scored) == size


def test_too_few_scored_responses_have_no_discrimination() -> None:
    assert discrimination([row(0, 50, {"choice": "b"}, True)]) == (None, 0)
    assert discrimination([row(0, None, {"choice": "b"}, True), row(1, None, None, False)]) == (
        None,
        0,
    )
    empty = item_stats([], OPTIONS)
    assert empty.p_value is None and empty.discrimination is None
    assert all(o.percent == 0.0 for o in empty.options)


def test_equal_scores_are_ordered_by_attempt_id() -> None:
    rows = [row(1, 50, {"choice": "b"}, True), row(0, 50, {"choice": "a"}, False)]
    # Upper group: the first attempt id (wrong); lower: the other (right).
    assert discrimination(rows) == (-1.0, 1)


def test_rows_in_any_shape_and_grouped_by_version() -> None:
    other = uuid.UUID(int=2)
    as_tuple = (uuid.UUID(int=5), other, {"choice": "a"}, False, 40.0)
    converted = [to_response_row(as_tuple), to_response_row(SINGLE[0])]
    grouped = by_version(converted)
    assert set(grouped) == {VERSION, other}
    assert grouped[other][0].attempt_percent == 40.0


def test_option_labels_are_plain_text() -> None:
    assert plain_label("<p>The <strong>left</strong> ventricle &amp; aorta</p>") == (
        "The left ventricle & aorta"
    )
    assert len(plain_label("<p>" + "x" * 500 + "</p>")) == 120
