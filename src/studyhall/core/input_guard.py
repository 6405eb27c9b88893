"""One check of every request's input that no route can forget: no NUL, no non-finite number.

PostgreSQL refuses a NUL character in text (a 500 rather than a 422), and JSON's `1e999`,
`NaN` and `Infinity` parse to floats that grade every numerical answer as correct and cannot
be answered as JSON. Rather than a validator on each field, `refuse_unsafe_input` runs as an
app-wide dependency, before any route's own dependencies (sign-in, database): it looks at the
path and query parameters, the JSON body (every key and value, however deep) and the fields
of a form (files excepted: their bytes are theirs). A refusal is the usual 422
`validation_error`, one `errors` item per bad input. Numbers in text (forms, answers) go
through questions.grading.parse_number, which refuses non-finite ones too.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError

NUL = "\x00"
NUL_ISSUE = ("string_nul_character", "The text contains a NUL character (\\u0000).")
NON_FINITE_ISSUE = ("finite_number", "The number must be finite (not Infinity or NaN).")
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")

Loc = tuple[str | int, ...]


def _issue(loc: Loc, kind: tuple[str, str]) -> dict[str, Any]:
    return {"loc": loc, "type": kind[0], "msg": kind[1], "input": None}


def _text_issues(loc: Loc, pairs: Iterator[tuple[str, str]]) -> Iterator[dict[str, Any]]:
    for name, value in pairs:
        if NUL in name or NUL in value:
            yield _issue((*loc, name.replace(NUL, "")), NUL_ISSUE)


def json_issues(value: Any, loc: Loc = ("body",)) -> Iterator[dict[str, Any]]:
    """Each NUL-bearing string (key or value) and non-finite number in a parsed JSON document."""
    if isinstance(value, str):
        if NUL in value:
            yield _issue(loc, NUL_ISSUE)
    elif isinstance(value, float):
        if not math.isfinite(value):
            yield _issue(loc, NON_FINITE_ISSUE)
    elif isinstance(value, dict):
        for key, member in value.items():
            if NUL in key:
                yield _issue((*loc, key.replace(NUL, "")), NUL_ISSUE)
            yield from json_issues(member, (*loc, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from json_issues(item, (*loc, index))


async def _body_issues(request: Request) -> list[dict[str, Any]]:
    content_type = request.headers.get("content-type", "").lower()
    if "json" in content_type:
        try:
            document = json.loads(await request.body())
        except (ValueError, UnicodeDecodeError):
            return []  # not JSON: the route's own body validation says so
        return list(json_issues(document))
    if content_type.startswith(_FORM_TYPES):
        form = await request.form()  # parsed once: the route reads the same FormData
        fields = ((name, value) for name, value in form.multi_items() if isinstance(value, str))
        return list(_text_issues(("body",), fields))
    return []


async def refuse_unsafe_input(request: Request) -> None:
    """Refuse (422) a NUL character in any text input, or a non-finite number in a JSON body."""
    path_texts = ((k, v) for k, v in request.path_params.items() if isinstance(v, str))
    issues = list(_text_issues(("path",), path_texts))
    issues += _text_issues(("query",), iter(request.query_params.multi_items()))
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        issues += await _body_issues(request)
    if issues:
        raise RequestValidationError(issues)
