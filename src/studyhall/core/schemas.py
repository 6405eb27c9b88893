"""The one base every module's schemas extend."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Schema(BaseModel):
    # No Infinity or NaN: JSON's 1e999 parses to inf, which grades every numerical answer as
    # correct, cannot be stored by PostgreSQL and cannot be answered as JSON.
    model_config = ConfigDict(from_attributes=True, allow_inf_nan=False)
