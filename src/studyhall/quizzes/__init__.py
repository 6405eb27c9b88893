"""Quizzes and their categories, and custom tests built from the bank."""
