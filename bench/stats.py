"""What a load phase measured: per endpoint latencies, statuses and errors; cache counters."""

from __future__ import annotations

import math
import re
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

# DESIGN.md's performance budget.
READ_P95_SECONDS = 0.050
WRITE_P95_SECONDS = 0.100
HIT_RATE_TARGET = 0.90
ANSWER_RATIO_TARGET = 0.50
PERCENTILE_SECONDS = 0.050

READ, WRITE = "read", "write"
# DESIGN.md lists quiz list/detail, question and dashboard as reads and answer, auto-save and
# review as writes; starting and submitting are held to the write budget too.
ENDPOINT_CLASS = {
    "quiz_list": READ,
    "quiz_detail": READ,
    "question": READ,
    "performance": READ,
    "percentile": READ,
    "leaderboard_global": READ,
    "leaderboard_quiz": READ,
    "attempt_start": WRITE,
    "custom_test_start": WRITE,
    "answer": WRITE,
    "autosave": WRITE,
    "submit": WRITE,
    "review": WRITE,
    "baseline_answer": WRITE,
}


def quantile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank quantile of already sorted values (0 when there are none)."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(q * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


@dataclass
class EndpointStats:
    name: str
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    error_samples: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.latencies)

    def summary(self, seconds: float) -> dict[str, Any]:
        ordered = sorted(self.latencies)
        p95 = quantile(ordered, 0.95)
        kind = ENDPOINT_CLASS.get(self.name, "")
        budget = READ_P95_SECONDS if kind == READ else WRITE_P95_SECONDS if kind == WRITE else None
        return {
            "endpoint": self.name,
            "class": kind,
            "count": self.count,
            "errors": self.errors,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "p50_ms": round(quantile(ordered, 0.50) * 1000, 1),
            "p95_ms": round(p95 * 1000, 1),
            "p99_ms": round(quantile(ordered, 0.99) * 1000, 1),
            "max_ms": round((ordered[-1] if ordered else 0.0) * 1000, 1),
            "per_second": round(self.count / seconds, 1) if seconds > 0 else 0.0,
            "budget_ms": round(budget * 1000) if budget is not None else None,
            "within_budget": (p95 < budget) if budget is not None and self.count else None,
            "error_samples": self.error_samples[:3],
        }


class Recorder:
    """Collects every request of a phase."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.endpoints: dict[str, EndpointStats] = {}
        self.started = time.perf_counter()
        self.finished: float | None = None

    def add(self, endpoint: str, seconds: float, status: int, ok: bool, detail: str = "") -> None:
        stats = self.endpoints.get(endpoint)
        if stats is None:
            stats = self.endpoints[endpoint] = EndpointStats(endpoint)
        stats.latencies.append(seconds)
        stats.statuses[status] += 1
        if not ok:
            stats.errors += 1
            if len(stats.error_samples) < 5:
                stats.error_samples.append(f"{status} {detail[:300]}")

    def finish(self) -> None:
        self.finished = time.perf_counter()

    @property
    def seconds(self) -> float:
        return (self.finished or time.perf_counter()) - self.started


@dataclass
class PhaseResult:
    name: str
    seconds: float
    vus: int
    endpoints: dict[str, EndpointStats]
    cache: CacheDelta | None = None

    @property
    def requests(self) -> int:
        return sum(stats.count for stats in self.endpoints.values())

    @property
    def errors(self) -> int:
        return sum(stats.errors for stats in self.endpoints.values())

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    def summary(self) -> dict[str, Any]:
        return {
            "phase": self.name,
            "seconds": round(self.seconds, 1),
            "virtual_users": self.vus,
            "requests": self.requests,
            "errors": self.errors,
            "error_rate": round(self.errors / self.requests, 4) if self.requests else 0.0,
            "per_second": round(self.throughput, 1),
            "endpoints": [
                self.endpoints[name].summary(self.seconds) for name in sorted(self.endpoints)
            ],
            "cache": self.cache.summary() if self.cache else None,
        }


# ---------------------------------------------------------------- cache counters

_COUNTER = re.compile(
    r'^studyhall_cache_(hits|misses)_total\{namespace="(?P<ns>[^"]*)"\}\s+(?P<value>\S+)$'
)


def parse_cache_counters(metrics_text: str) -> dict[tuple[str, str], float]:
    """{("hits"|"misses", namespace): value} from a Prometheus text exposition."""
    counters: dict[tuple[str, str], float] = {}
    for line in metrics_text.splitlines():
        match = _COUNTER.match(line.strip())
        if match:
            counters[(match.group(1), match.group("ns"))] = float(match.group("value"))
    return counters


@dataclass
class CacheDelta:
    hits: dict[str, float]
    misses: dict[str, float]

    @classmethod
    def between(
        cls, before: dict[tuple[str, str], float], after: dict[tuple[str, str], float]
    ) -> CacheDelta:
        hits: dict[str, float] = {}
        misses: dict[str, float] = {}
        for (kind, namespace), value in after.items():
            delta = value - before.get((kind, namespace), 0.0)
            if delta:
                (hits if kind == "hits" else misses)[namespace] = delta
        return cls(hits=hits, misses=misses)

    @staticmethod
    def _rate(hits: float, misses: float) -> float | None:
        total = hits + misses
        return hits / total if total else None

    def rate(self, namespaces: Iterable[str] | None = None) -> float | None:
        names = set(namespaces) if namespaces is not None else set(self.hits) | set(self.misses)
        return self._rate(
            sum(self.hits.get(n, 0.0) for n in names), sum(self.misses.get(n, 0.0) for n in names)
        )

    def summary(self) -> dict[str, Any]:
        names = sorted(set(self.hits) | set(self.misses))
        overall = self.rate()
        return {
            "hits": int(sum(self.hits.values())),
            "misses": int(sum(self.misses.values())),
            "hit_rate": round(overall, 4) if overall is not None else None,
            "target": HIT_RATE_TARGET,
            "within_target": overall > HIT_RATE_TARGET if overall is not None else None,
            "by_namespace": {
                name: {
                    "hits": int(self.hits.get(name, 0.0)),
                    "misses": int(self.misses.get(name, 0.0)),
                    "hit_rate": round(r, 4) if (r := self.rate([name])) is not None else None,
                }
                for name in names
            },
        }
