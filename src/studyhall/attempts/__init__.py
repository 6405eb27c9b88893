"""Sittings of quizzes and custom tests: auto-save, pause/resume, time limits, grading, review."""
