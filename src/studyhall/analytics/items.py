"""Classical item analysis over the responses to one question (pure functions).

- p-value: the share of the responses (sittings of the question in submitted attempts) that
  were correct; an unanswered item counts as a wrong response, as usual in item analysis.
- Discrimination (Kelley's upper-lower index): the responses are ranked by their attempt's
  percent score, highest first (equal scores by attempt id, so the result is reproducible);
  the upper and lower groups are the top and bottom 27% (n = round(0.27 * N), at least 1;
  none with fewer than two scored responses); D = p_upper - p_lower, from -1 to 1. The attempt
  score includes the item itself (uncorrected), which inflates D slightly on short tests.
- Option picks (choice types): how many answered responses chose each option, and the share of
  the answered responses that did (for multiple response the shares add up to more than 100%).
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from studyhall.analytics.schemas import ItemStats, OptionStat, ResponseRow

GROUP_SHARE = 0.27


@dataclass(frozen=True)
class OptionInfo:
    option_id: str
    label: str
    correct: bool


def to_response_row(row: Any) -> ResponseRow:
    """Accept what attempts hands over: a schema or object with the fields, a SQLAlchemy
    Row, or a plain tuple in the documented order."""
    if isinstance(row, ResponseRow):
        return row
    if hasattr(row, "_mapping"):
        return ResponseRow.model_validate(dict(row._mapping))
    if isinstance(row, tuple):
        attempt_id, version_id, response, is_correct, percent = row
        return ResponseRow(
            attempt_id=attempt_id,
            question_version_id=version_id,
            response=response,
            is_correct=is_correct,
            attempt_percent=percent,
        )
    return ResponseRow.model_validate(row)


def group_size(scored: int) -> int:
    """Size of the upper and of the lower group for `scored` ranked responses."""
    if scored < 2:
        return 0
    return max(1, math.floor(GROUP_SHARE * scored + 0.5))


def discrimination(rows: Sequence[ResponseRow]) -> tuple[float | None, int]:
    """(p_upper - p_lower, group size), or (None, 0) with fewer than two scored responses."""
    scored = [row for row in rows if row.attempt_percent is not None]
    size = group_size(len(scored))
    if size == 0:
        return None, 0
    ranked = sorted(scored, key=lambda row: (-(row.attempt_percent or 0.0), str(row.attempt_id)))
    upper = sum(1 for row in ranked[:size] if row.is_correct)
    lower = sum(1 for row in ranked[-size:] if row.is_correct)
    return round((upper - lower) / size, 4), size


def _picked(response: dict[str, Any] | None) -> set[str]:
    if not response:
        return set()
    if choice := response.get("choice"):
        return {str(choice)}
    choices = response.get("choices")
    if isinstance(choices, list):
        return {str(choice) for choice in choices}
    return set()


def _answered(response: dict[str, Any] | None) -> bool:
    if not response:
        return False
    return bool(
        response.get("choice") or response.get("choices") or str(response.get("text", "")).strip()
    )


def item_stats(rows: Sequence[ResponseRow], options: Sequence[OptionInfo] = ()) -> ItemStats:
    """Statistics of `rows` (one question, or one of its versions when `options` are given)."""
    answered_rows = [row for row in rows if _answered(row.response)]
    correct = sum(1 for row in rows if row.is_correct)
    picks = {option.option_id: 0 for option in options}
    for row in answered_rows:
        for option_id in _picked(row.response) & picks.keys():
            picks[option_id] += 1
    answered = len(answered_rows)
    d_index, size = discrimination(rows)
    return ItemStats(
        responses=len(rows),
        answered=answered,
        correct=correct,
        p_value=round(correct / len(rows), 4) if rows else None,
        discrimination=d_index,
        group_size=size,
        options=[
            OptionStat(
                option_id=option.option_id,
                label=option.label,
                correct=option.correct,
                picks=picks[option.option_id],
                percent=round(picks[option.option_id] / answered * 100, 2) if answered else 0.0,
            )
            for option in options
        ],
    )


def by_version(rows: Sequence[ResponseRow]) -> dict[uuid.UUID, list[ResponseRow]]:
    grouped: dict[uuid.UUID, list[ResponseRow]] = {}
    for row in rows:
        grouped.setdefault(row.question_version_id, []).append(row)
    return grouped
