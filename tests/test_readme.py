"""The README documents every setting, keeps exactly its two set-up commands, and describes
exactly the domain modules there are in "What works today"."""

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


# ---------------------------------------------------------------- what works today

PACKAGE = Path(__file__).parents[1] / "src" / "studyhall"
# Packages that are not domain modules: the plumbing, the pages (and the migrations, no package).
NOT_DOMAIN_MODULES = {"core", "web", "migrations"}
MODULE_ROW = re.compile(r"^\| `([a-z_]+)` \| (.*) \|$", re.MULTILINE)


def _section(title: str) -> str:
    match = re.search(
        rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", README, re.DOTALL | re.MULTILINE
    )
    assert match, f"README has no '## {title}' section"
    return match.group(1)


def _domain_modules() -> set[str]:
    return {
        path.parent.name
        for path in PACKAGE.glob("*/__init__.py")
        if path.parent.name not in NOT_DOMAIN_MODULES
    }


def test_what_works_today_lists_exactly_the_domain_modules() -> None:
    """Every domain package under src/studyhall is in the table, and the table names no other."""
    described = dict(MODULE_ROW.findall(_section("What works today")))
    modules = _domain_modules()
    assert modules, "no domain modules found under src/studyhall"
    assert set(described) - modules == set(), "README lists modules that do not exist"
    assert modules - set(described) == set(), "modules missing from README's What works today"


def test_every_module_in_the_readme_is_described() -> None:
    described = dict(MODULE_ROW.findall(_section("What works today")))
    for module, what in described.items():
        assert len(what.split()) >= 8, f"`{module}` needs a description of what works in it"
