"""Analytics: aggregates kept by submissions, my performance, percentile ranking,
leaderboards and item analysis.

Services flush, never commit. Callers use `from studyhall.analytics import service` and
`service.<name>`; the submodules are an internal layout, so every public name is here.
"""

from studyhall.analytics.service.items import (
    compute_item_analysis,
    item_analysis,
    responses_for_question,
)
from studyhall.analytics.service.leaderboards import (
    compute_quiz_leaderboard,
    global_leaderboard,
    period_window,
    quiz_leaderboard,
)
from studyhall.analytics.service.percentiles import (
    compute_percentile_ranking,
    percentile_ranking,
    rebuild_rank_buckets,
    time_percentile_query,
)
from studyhall.analytics.service.performance import compute_performance, my_performance
from studyhall.analytics.service.recording import record_submission

__all__ = [
    "compute_item_analysis",
    "compute_percentile_ranking",
    "compute_performance",
    "compute_quiz_leaderboard",
    "global_leaderboard",
    "item_analysis",
    "my_performance",
    "percentile_ranking",
    "period_window",
    "quiz_leaderboard",
    "rebuild_rank_buckets",
    "record_submission",
    "responses_for_question",
    "time_percentile_query",
]
