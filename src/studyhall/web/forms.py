"""What a form needs to be shown again: the user's input, field errors and a form-wide error.

Input is checked with the accounts API's own request schemas, so pages and API agree on the
rules; messages are rewritten for people.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from studyhall.core.errors import StudyhallError

SchemaT = TypeVar("SchemaT", bound=BaseModel)

# Fields whose value is never sent back to the browser.
SECRET_FIELDS = frozenset(
    {"password", "current_password", "new_password", "password_confirm", "code", "csrf_token"}
)


@dataclass
class FormState:
    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    message: str | None = None
    code: str | None = None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    # Prefix of the fields' ids, for pages showing several forms with the same field names.
    id_prefix: str = ""

    @classmethod
    def of(cls, values: Mapping[str, str] | None = None, id_prefix: str = "") -> FormState:
        kept = {k: v for k, v in (values or {}).items() if k not in SECRET_FIELDS}
        return cls(values=kept, id_prefix=id_prefix)

    @property
    def has_errors(self) -> bool:
        return bool(self.errors or self.message)

    @property
    def first_invalid(self) -> str | None:
        return next(iter(self.errors), None)

    def value(self, name: str) -> str:
        return self.values.get(name, "")

    def invalid(self, errors: Mapping[str, str], status: int = 422) -> FormState:
        self.errors.update(errors)
        self.status = status
        return self

    def fail(self, error: StudyhallError, fields: Mapping[str, str] | None = None) -> FormState:
        """Show a domain error next to the field its code concerns, else above the form."""
        target = (fields or {}).get(error.code)
        if target:
            self.errors[target] = error.detail
        else:
            self.message = error.detail
        self.code = error.code
        self.status = error.status
        self.headers = {k: v for k, v in error.headers.items() if k.lower() == "retry-after"}
        return self


class FormInvalid(Exception):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(", ".join(errors))
        self.errors = errors


def parse_form(
    schema: type[SchemaT], data: Mapping[str, str], messages: Mapping[str, str]
) -> SchemaT:
    """Validate `data` with `schema`; raise FormInvalid with one message per bad field."""
    try:
        return schema.model_validate(dict(data))
    except ValidationError as exc:
        errors: dict[str, str] = {}
        for problem in exc.errors():
            name = str(problem["loc"][0]) if problem["loc"] else ""
            errors.setdefault(name, messages.get(name, "Check this field."))
        raise FormInvalid(errors) from exc


def check_confirmation(password: str, confirmation: str) -> None:
    if password != confirmation:
        raise FormInvalid({"password_confirm": "The two passwords do not match."})
