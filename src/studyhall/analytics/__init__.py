"""Performance, percentile ranking, leaderboards and item analysis."""
