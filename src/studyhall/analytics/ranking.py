"""Buckets of the percentile measures (pure functions).

Each measure's range is cut at fixed, increasing edges; bucket `b` holds the values `v` with
`edges[b] <= v < edges[b + 1]` (the last bucket is open above). A value's bucket is found by
the same comparisons SQL makes (`bisect` on the edges), so a bucket in Python and the range
`column >= edges[b] AND column < edges[b + 1]` in SQL always agree, floats included.

Counting the users strictly below a value v in bucket b: the users of buckets < b (from
`rank_buckets`) plus those in b with `edges[b] <= value < v` (a short index range).
"""

from __future__ import annotations

import enum
from bisect import bisect_right
from collections.abc import Sequence


class Measure(enum.StrEnum):
    ACCURACY = "accuracy"
    AVG_TIME = "avg_time"
    ANSWERED = "answered"


def _geometric(start: float, stop: float, ratio: float) -> list[float]:
    edges: list[float] = []
    value = start
    while value < stop:
        edges.append(round(value, 3))
        value *= ratio
    return edges


def _geometric_whole(start: int, stop: int, ratio: float) -> list[int]:
    edges: list[int] = []
    value = float(start)
    while value < stop:
        if not edges or round(value) > edges[-1]:
            edges.append(round(value))
        value *= ratio
    return edges


# Accuracy 0..1 in steps of 0.001.
ACCURACY_EDGES: tuple[float, ...] = tuple(i / 1000 for i in range(1000))
# Seconds per question: half seconds to 2 min, seconds to 10 min, then 3% steps.
AVG_TIME_EDGES: tuple[float, ...] = tuple(
    [i / 2 for i in range(240)] + [float(s) for s in range(120, 600)] + _geometric(600, 1e7, 1.03)
)
# Questions answered (whole numbers, so SQL compares integers and uses the index): one bucket
# per count to 200, then 2% steps.
ANSWERED_EDGES: tuple[int, ...] = tuple(list(range(1, 200)) + _geometric_whole(200, 10**10, 1.02))

EDGES: dict[Measure, Sequence[float]] = {
    Measure.ACCURACY: ACCURACY_EDGES,
    Measure.AVG_TIME: AVG_TIME_EDGES,
    Measure.ANSWERED: ANSWERED_EDGES,
}


def bucket_of(measure: Measure, value: float) -> int:
    """The bucket holding `value` (values below the first edge go to bucket 0)."""
    return max(0, bisect_right(EDGES[measure], value) - 1)


def bucket_bounds(measure: Measure, bucket: int) -> tuple[float | None, float | None]:
    """[low, high) of a bucket; None where it is open (below the first, above the last)."""
    edges = EDGES[measure]
    low = edges[bucket] if bucket > 0 else None
    high = edges[bucket + 1] if bucket + 1 < len(edges) else None
    return low, high


def buckets_of(answered: int, accuracy: float, avg_time: float) -> dict[Measure, int]:
    return {
        Measure.ACCURACY: bucket_of(Measure.ACCURACY, accuracy),
        Measure.AVG_TIME: bucket_of(Measure.AVG_TIME, avg_time),
        Measure.ANSWERED: bucket_of(Measure.ANSWERED, answered),
    }
