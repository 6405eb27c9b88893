"""The built wheel works without the source tree, as `pip install studyhall` would leave it.

The wheel is built with uv and installed into a fresh virtualenv outside the tree: the locked
dependencies from uv's cache (what `make` filled; no resolution, so no new network use), then the
wheel itself, whose requirements `uv pip check` confirms. From a directory outside the tree,
`studyhall migrate` brings SQLite and PostgreSQL to the head revision, and `studyhall serve`
renders a page with its templates and serves its static files. It takes seconds: uv links the
packages from its cache and compiles no bytecode ahead.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from studyhall.migrate import alembic_config
from studyhall.models import metadata
from tests.backends import free_port, wait_until_healthy

pytestmark = pytest.mark.wheel

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "studyhall"
# What the package needs at run time besides its modules; named so a failure says what is lost.
DATA_FILES = (
    "studyhall/migrations/env.py",
    "studyhall/migrations/script.py.mako",
    "studyhall/web/templates/base.html",
    "studyhall/web/templates/home.html",
    "studyhall/web/static/css/studyhall.css",
    "studyhall/web/static/vendor/htmx.min.js",
    "studyhall/py.typed",
)
# Variables that would point the installed command back at the source tree or the test run.
NOT_PASSED_ON = ("PYTHONPATH", "VIRTUAL_ENV", "PROMETHEUS_MULTIPROC_DIR")


@dataclass(frozen=True)
class InstalledWheel:
    wheel: Path
    venv: Path
    outside: Path  # an empty directory outside the source tree to run commands from

    @property
    def studyhall(self) -> Path:
        return self.venv / "bin" / "studyhall"

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"


def _uv() -> Path:
    """The uv `make` installs (pinned, in .tools), or one on PATH."""
    pinned = ROOT / ".tools" / "bin" / "uv"
    found = pinned if pinned.exists() else shutil.which("uv")
    if found is None:
        pytest.fail("no uv: run `make .venv/.dev-deps` (it installs the pinned uv in .tools)")
    return Path(found)


def _run(command: list[str | Path], cwd: Path, env: dict[str, str], timeout: float) -> str:
    done = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"{command} exited with {done.returncode}:\n{output}"
    return output


def _uv_environment(venv: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in NOT_PASSED_ON}
    # As the Makefile runs uv, but without compiling every dependency ahead (10 s here).
    env.update(
        UV_PYTHON_DOWNLOADS="never", UV_COMPILE_BYTECODE="0", UV_PROJECT_ENVIRONMENT=str(venv)
    )
    return env


def _outside_environment(**settings: str) -> dict[str, str]:
    """This environment without the test run's STUDYHALL_* settings, plus `settings`."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("STUDYHALL_") and key not in NOT_PASSED_ON
    }
    env.update(STUDYHALL_LOG_LEVEL="WARNING", **settings)
    return env


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> InstalledWheel:
    uv = _uv()
    base = tmp_path_factory.mktemp("wheel")
    assert not base.is_relative_to(ROOT), "the wheel must be tried outside the source tree"
    venv, dist, outside = base / "venv", base / "dist", base / "elsewhere"
    outside.mkdir()
    env = _uv_environment(venv)

    _run([uv, "build", "--wheel", "--out-dir", dist, ROOT], ROOT, env, timeout=180)
    [wheel] = dist.glob("studyhall-*.whl")
    # The locked dependencies (not the project) into a new virtualenv at `venv`.
    sync = [uv, "sync", "--frozen", "--no-dev", "--no-install-project", "--python", sys.executable]
    _run(sync, ROOT, env, timeout=600)
    _run(
        [uv, "pip", "install", "--python", venv / "bin" / "python", "--no-deps", wheel],
        outside,
        env,
        timeout=120,
    )
    _run([uv, "pip", "check", "--python", venv / "bin" / "python"], outside, env, timeout=60)
    return InstalledWheel(wheel, venv, outside)


def _package_sources() -> set[str]:
    """Files of src/studyhall a wheel must carry: tracked or new, not ignored (as hatchling)."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "src/studyhall"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    return {
        Path(name).relative_to("src").as_posix()
        for name in listed
        if (ROOT / name).is_file()  # not a tracked file deleted in the work tree
    }


def test_the_wheel_carries_every_file_of_the_package(installed: InstalledWheel) -> None:
    with zipfile.ZipFile(installed.wheel) as archive:
        shipped = {name for name in archive.namelist() if name.startswith("studyhall/")}

    for name in DATA_FILES:
        assert name in shipped, f"{name} is not in the wheel"
    revisions = ScriptDirectory.from_config(alembic_config("sqlite://")).walk_revisions()
    for revision in revisions:
        name = f"studyhall/migrations/versions/{Path(str(revision.path)).name}"
        assert name in shipped, f"migration {name} is not in the wheel"
    assert shipped == _package_sources()


INSPECT_INSTALLED = """
import json, studyhall, studyhall.app, studyhall.migrate, studyhall.web.rendering as rendering
print(json.dumps({
    "package": studyhall.__file__,
    "templates": str(rendering.TEMPLATE_DIR),
    "static": str(studyhall.app.STATIC_DIR),
    "migrations": str(studyhall.migrate.MIGRATIONS_DIR),
}))
"""


def test_the_installed_package_is_the_wheel_with_its_files(installed: InstalledWheel) -> None:
    output = _run(
        [installed.python, "-c", INSPECT_INSTALLED],
        installed.outside,
        _outside_environment(STUDYHALL_VAR_DIR=str(installed.outside / "var")),
        timeout=120,
    )
    paths = {key: Path(value) for key, value in json.loads(output.splitlines()[-1]).items()}

    for key, path in paths.items():
        assert path.is_relative_to(installed.venv), f"{key} comes from {path}, not the wheel"
    assert (paths["templates"] / "home.html").is_file()
    assert (paths["static"] / "css" / "studyhall.css").is_file()
    assert (paths["migrations"] / "script.py.mako").is_file()


def _schema(connection: Connection) -> tuple[set[str], list[str]]:
    tables = set(inspect(connection).get_table_names())
    versions = [
        row[0] for row in connection.execute(text("SELECT version_num FROM alembic_version"))
    ]
    return tables, versions


async def _migrate_with_the_wheel(installed: InstalledWheel, database_url: str) -> None:
    env = _outside_environment(
        STUDYHALL_DATABASE_URL=database_url,
        STUDYHALL_VAR_DIR=str(installed.outside / "var"),
    )
    output = _run([installed.studyhall, "migrate"], installed.outside, env, timeout=120)
    assert "Database at revision head." in output

    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            tables, versions = await conn.run_sync(_schema)
    finally:
        await engine.dispose()
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert versions == [head]
    assert set(metadata.tables) <= tables, f"missing: {set(metadata.tables) - tables}"


async def test_migrate_from_the_wheel_on_sqlite(installed: InstalledWheel, tmp_path: Path) -> None:
    await _migrate_with_the_wheel(installed, f"sqlite+aiosqlite:///{tmp_path / 'wheel.db'}")


async def test_migrate_from_the_wheel_on_postgres(
    installed: InstalledWheel, fresh_postgres_url: str
) -> None:
    await _migrate_with_the_wheel(installed, fresh_postgres_url)


@pytest.fixture
def served_from_the_wheel(installed: InstalledWheel, tmp_path: Path) -> Iterator[str]:
    """`studyhall serve` from the wheel on the embedded defaults: its base URL."""
    port = free_port()
    env = _outside_environment(STUDYHALL_VAR_DIR=str(tmp_path / "var"), STUDYHALL_PORT=str(port))
    with (tmp_path / "serve.log").open("wb") as log:
        process = subprocess.Popen(
            [str(installed.studyhall), "serve"],
            cwd=installed.outside,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(f"{base}/health/ready", process, within=90)
        yield base
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_serve_from_the_wheel_renders_pages_and_static_files(served_from_the_wheel: str) -> None:
    home = httpx.get(f"{served_from_the_wheel}/", timeout=10)
    assert home.status_code == 200
    assert home.headers["content-type"].startswith("text/html")
    assert 'id="hero-title"' in home.text  # home.html, inside base.html

    stylesheet = httpx.get(f"{served_from_the_wheel}/static/css/studyhall.css", timeout=10)
    assert stylesheet.status_code == 200
    assert stylesheet.headers["content-type"].startswith("text/css")
    assert stylesheet.text == (PACKAGE / "web" / "static" / "css" / "studyhall.css").read_text()
