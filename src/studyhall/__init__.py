"""Studyhall: a self-hostable learning and assessment platform."""

__version__ = "0.1.0"
