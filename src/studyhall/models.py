"""Imports every module's models so the metadata (and Alembic) sees all tables."""

from __future__ import annotations

from studyhall.accounts import models as accounts_models
from studyhall.core.db import Base

metadata = Base.metadata

__all__ = ["accounts_models", "metadata"]
