"""The README documents every setting and keeps exactly its two set-up commands."""

from __future__ import annotations

import re
from pathlib import Path

from studyhall.core.settings import Settings

README = (Path(__file__).parents[1] / "README.md").read_text()


def test_every_setting_is_in_the_readme_table() -> None:
    documented = set(re.findall(r"^\| `(STUDYHALL_[A-Z0-9_]+)` \|", README, re.MULTILINE))
    expected = {f"STUDYHALL_{name.upper()}" for name in Settings.model_fields}
    assert documented == expected


def test_every_setting_has_a_description() -> None:
    assert all(field.description for field in Settings.model_fields.values())


def test_readme_has_the_run_and_test_commands() -> None:
    blocks = re.findall(r"```sh\n(.*?)```", README, re.DOTALL)
    assert [block.strip() for block in blocks] == ["make run", "make test"]
