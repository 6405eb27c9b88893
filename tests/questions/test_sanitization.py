"""No script gets into a page through any Markdown field of a question."""

from __future__ import annotations

import re
import uuid
from html.parser import HTMLParser
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from studyhall.core.markdown import render_inline, render_markdown
from studyhall.questions.models import QuestionVersion
from tests.conftest import SignedInUser
from tests.questions.conftest import API, create, publish, single_choice

PAYLOADS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)>",
    "<iframe src=javascript:alert(1)></iframe>",
    '<a href="javascript:alert(1)">raw link</a>',
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](java\tscript:alert(1))",
    "[click](&#106;avascript:alert(1))",
    "[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[vb](vbscript:msgbox(1))",
    "![img](javascript:alert(1))",
    '![img](x" onerror="alert(1))',
    "<style>body{display:none}</style>",
    '<div style="background:url(javascript:alert(1))">x</div>',
    "<form action=/logout><button>go</button></form>",
    '<object data="x.swf"></object>',
    "<math><mi xlink:href=javascript:alert(1)>x</mi></math>",
    '<meta http-equiv="refresh" content="0;url=//evil">',
]

SAFE_TAGS = {
    *("p", "br", "hr", "strong", "em", "b", "i", "u", "s", "del", "sub", "sup", "code", "pre"),
    *("blockquote", "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table", "thead"),
    *("tbody", "tr", "th", "td", "a", "img", "span"),
}
SAFE_ATTRIBUTES = {"href", "title", "rel", "src", "alt", "width", "height", "align", "start"}
SAFE_SCHEMES = {"http", "https", "mailto"}


class _Inspector(HTMLParser):
    """Walks HTML as a browser would tokenize it and records anything active."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in SAFE_TAGS:
            self.problems.append(f"tag <{tag}>")
        for name, value in attrs:
            if name not in SAFE_ATTRIBUTES:
                self.problems.append(f"attribute {name} on <{tag}>")
            if name in ("href", "src") and value is not None:
                # Browsers drop whitespace and control characters inside a scheme.
                squeezed = re.sub(r"[\x00-\x20\x7f]", "", value).lower()
                scheme = squeezed.split(":", 1)[0] if ":" in squeezed else ""
                if scheme and "/" not in scheme and scheme not in SAFE_SCHEMES:
                    self.problems.append(f"{name}={value!r}")

    handle_startendtag = handle_starttag


def assert_inert(html: str) -> None:
    inspector = _Inspector()
    inspector.feed(html)
    inspector.close()
    assert not inspector.problems, (inspector.problems, html)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_render_markdown_neutralizes(payload: str) -> None:
    assert_inert(render_markdown(payload))
    assert_inert(render_inline(payload))
    assert_inert(render_markdown(f"Before\n\n{payload}\n\nafter *text*"))


def test_raw_html_is_shown_as_text_not_markup() -> None:
    html = render_markdown("<b>bold?</b> <script>alert(1)</script>")
    assert "<b>" not in html and "<script>" not in html
    assert "&lt;script&gt;" in html


def test_safe_markdown_survives() -> None:
    html = render_markdown(
        "**bold** [link](https://example.com) ![x-ray](/api/v1/questions/1/images/2)\n\n"
        "| a | b |\n|---|---|\n| 1 | 2 |"
    )
    assert "<strong>bold</strong>" in html
    assert 'href="https://example.com"' in html
    assert 'rel="noopener noreferrer nofollow"' in html
    assert '<img src="/api/v1/questions/1/images/2" alt="x-ray">' in html
    assert "<table>" in html


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [*PAYLOADS, "<", ">", '"', "'", "`", "[", "](", ")", "![", "\n", " ", "&#", ";", "x"]
        ),
        max_size=12,
    ).map("".join)
)
def test_no_combination_of_fragments_produces_active_content(source: str) -> None:
    assert_inert(render_markdown(source))
    assert_inert(render_inline(source))


def _attack_body(payload: str) -> dict[str, Any]:
    return single_choice(
        stem=f"Stem {payload}",
        explanation=f"Explanation {payload}",
        options=[
            {"text": f"Option A {payload}", "correct": True, "explanation": f"Why A {payload}"},
            {"text": f"Option B {payload}", "explanation": f"Why B {payload}"},
        ],
    )


@pytest.mark.parametrize(
    "payload",
    [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "[x](javascript:alert(1))",
        '<a href="javascript:alert(1)">x</a>',
    ],
)
async def test_no_field_carries_script_into_storage_or_the_api(
    app: FastAPI,
    client: httpx.AsyncClient,
    teacher: SignedInUser,
    student: SignedInUser,
    payload: str,
) -> None:
    created = await create(client, teacher, _attack_body(payload))
    await publish(client, teacher, created["id"])

    # Rendered HTML as the author (who gets explanations) and as a student sees it.
    for user in (teacher, student):
        response = await client.get(f"{API}/{created['id']}", headers=user.headers)
        assert response.status_code == 200
        current = response.json()["current"]
        html_fields = [current["stem_html"], current["explanation_html"]]
        for option in current["options"]:
            html_fields += [option["text_html"], option["explanation_html"]]
        for html in html_fields:
            assert_inert(html)
    versions = await client.get(f"{API}/{created['id']}/versions", headers=teacher.headers)
    for item in versions.json()["items"]:
        for key in ("stem_html", "explanation_html"):
            assert_inert(item[key])
        for option in item["options"]:
            assert_inert(option["text_html"])
            assert_inert(option["explanation_html"])

    # The stored HTML (what every other module renders) is clean in every field.
    async with app.state.sessionmaker() as db:
        version = await db.scalar(
            select(QuestionVersion).where(QuestionVersion.question_id == uuid.UUID(created["id"]))
        )
        assert version is not None
        stored = [version.stem_html, version.explanation_html]
        for option in version.options:
            stored += [option["text_html"], option["explanation_html"]]
        assert len(stored) == 6
        for html in stored:
            assert_inert(html)
        # The Markdown source is kept verbatim for editing.
        assert payload in version.stem_md

    # In the list, HTML fields are sanitized and the preview is plain text (no Markdown
    # syntax); JSON is served as JSON with nosniff, so a browser never runs it as a page.
    listing = await client.get(API, headers=student.headers)
    assert listing.headers["content-type"] == "application/json"
    assert listing.headers["x-content-type-options"] == "nosniff"
    for key, text in json_items(listing.json()):
        if key.endswith("_html"):
            assert_inert(text)
    preview = listing.json()["items"][0]["stem_preview"]
    assert preview.startswith("Stem ")


def json_items(value: Any, key: str = "") -> list[tuple[str, str]]:
    """Every (key, string) pair in a JSON document."""
    if isinstance(value, str):
        return [(key, value)]
    if isinstance(value, dict):
        return [pair for k, v in value.items() for pair in json_items(v, k)]
    if isinstance(value, list):
        return [pair for v in value for pair in json_items(v, key)]
    return []
