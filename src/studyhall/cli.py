"""The `studyhall` command: serve, worker, migrate, create-admin."""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from pydantic_core import ErrorDetails
from rich.console import Console

from studyhall.core.settings import ENV_PREFIX, Settings, get_settings

app = typer.Typer(
    help="Studyhall: a self-hostable learning and assessment platform.", no_args_is_help=True
)
console = Console()
# Not wrapped: the command to make a secret must survive a copy and paste.
error_console = Console(stderr=True, highlight=False, soft_wrap=True)

# The exit status of a command that refuses to start because of its configuration.
CONFIG_ERROR = 2
# Settings whose values are never echoed back, even when they are invalid.
UNECHOED = ("secret", "password", "dsn", "url")


def _invalid_setting(error: ErrorDetails) -> str:
    """One validation error as the operator wrote it: the variable, what is wrong, the value."""
    field = str(error["loc"][0]) if error["loc"] else ""
    line = f"{ENV_PREFIX}{field.upper()}: {error['msg']}"
    if not any(word in field for word in UNECHOED):
        line += f" (it is {error['input']!r})"
    return line


def _load_settings() -> Settings:
    """The settings from the environment; on invalid values, say which and exit (no traceback)."""
    try:
        return get_settings()
    except ValidationError as exc:
        error_console.print("[red]Studyhall cannot start: invalid settings in the environment.[/]")
        for error in exc.errors(include_url=False):
            error_console.print(f"  {_invalid_setting(error)}", markup=False)
        raise typer.Exit(code=CONFIG_ERROR) from None


def _require_shared_secret(settings: Settings, workers: int) -> None:
    """Refuse to start where a secret generated in var/ would not be shared by every process."""
    reason = settings.secret_key_requirement(workers)
    if reason is None or settings.secret_key:
        return
    error_console.print(
        f"[red]Studyhall will not start: {ENV_PREFIX}SECRET_KEY is not set and {reason}.[/]\n"
        "Every process, on every host, must sign tokens and CSRF cookies with the same secret.\n"
        "Make one with: python3 -c 'import secrets; print(secrets.token_urlsafe(48))'\n"
        f"and give it to every studyhall process as {ENV_PREFIX}SECRET_KEY."
    )
    raise typer.Exit(code=CONFIG_ERROR)


def _migrate(settings: Settings) -> None:
    from studyhall.migrate import upgrade

    settings.var_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.effective_database_url)


# prometheus_client's multiprocess mode (see studyhall.core.metrics); not imported from there,
# as prometheus_client must not be imported here before the variable is set.
MULTIPROC_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"


def _multiprocess_metrics(settings: Settings, workers: int) -> tuple[Path | None, bool]:
    """Make /metrics cover every worker process: (the shared directory, whether this run
    created it). One the operator set is used as it is; with several workers and none set, a
    fresh, empty one under the var dir, exported before uvicorn spawns the workers (they read
    it when they import prometheus_client)."""
    configured = os.environ.get(MULTIPROC_DIR_ENV)
    if configured:
        path = Path(configured)
        path.mkdir(parents=True, exist_ok=True)
        return path, False
    if workers <= 1:
        return None, False
    path = (settings.var_dir / "metrics" / f"serve-{os.getpid()}").resolve()
    shutil.rmtree(path, ignore_errors=True)  # a previous run's, if this pid was used before
    path.mkdir(parents=True)
    os.environ[MULTIPROC_DIR_ENV] = str(path)
    return path, True


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="address to bind (STUDYHALL_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="port to bind (STUDYHALL_PORT)")] = None,
    workers: Annotated[int, typer.Option(help="uvicorn worker processes")] = 1,
    reload: Annotated[bool, typer.Option(help="restart on code changes (development)")] = False,
) -> None:
    """Run the web app and API (and, on the embedded defaults, the job worker)."""
    import uvicorn

    settings = _load_settings()
    # uvicorn ignores --workers when reloading: one process then.
    processes = 1 if reload else workers
    _require_shared_secret(settings, processes)
    if settings.is_sqlite:
        console.print("Applying database migrations (embedded SQLite)…")
        _migrate(settings)
    bind_host = host or settings.host
    bind_port = port or settings.port
    url = f"http://{bind_host}:{bind_port}"
    console.print(f"\n[bold green]Studyhall is running at {url}[/]")
    console.print(f"  Create an account at {url}/signup and sign in at {url}/login.")
    if not settings.smtp_host:
        mail_dir = (settings.var_dir / "mail").resolve()
        console.print(f"  No SMTP server is set: emails (verification links) go to {mail_dir}")
        console.print("  and their links are printed in the log below.")
    metrics_dir, created = _multiprocess_metrics(settings, processes)
    if metrics_dir is not None:
        console.print(f"  {url}/metrics sums every worker process (files in {metrics_dir}).")
    console.print("  First admin: [bold]studyhall create-admin[/] (in another terminal).\n")
    try:
        uvicorn.run(
            "studyhall.app:create_app",
            factory=True,
            host=bind_host,
            port=bind_port,
            workers=workers,
            reload=reload,
            log_config=None,
            proxy_headers=settings.trusted_proxy,
            server_header=False,
        )
    finally:
        if created and metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)


@app.command()
def worker(
    threads: Annotated[
        int | None,
        typer.Option(help="worker threads (default: STUDYHALL_WORKER_THREADS)", min=1),
    ] = None,
    metrics_port: Annotated[int, typer.Option(help="serve /metrics on this port (0: off)")] = 9101,
) -> None:
    """Consume the job queue.

    Use with STUDYHALL_REDIS_URL set, and STUDYHALL_RUN_WORKER_IN_PROCESS=false for `serve`.
    Any number of workers can run: periodic tasks are still enqueued once per minute.
    """
    settings = _load_settings()  # before the imports below, which read the settings too
    from prometheus_client import start_http_server

    import studyhall.app  # noqa: F401  (imports every module, registering its tasks)
    from studyhall.core.jobs import huey, make_consumer
    from studyhall.core.logging import configure_logging
    from studyhall.core.metrics import registry

    configure_logging(settings.log_level, settings.log_json)
    if metrics_port:
        start_http_server(metrics_port, addr="127.0.0.1", registry=registry)
    threads = threads or settings.worker_threads
    console.print(f"Worker consuming the {type(huey).__name__} queue with {threads} threads.")
    make_consumer(threads).run()


@app.command()
def migrate(
    revision: Annotated[str, typer.Argument(help="target revision")] = "head",
) -> None:
    """Apply database migrations up to REVISION."""
    from studyhall.migrate import upgrade

    settings = _load_settings()
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.effective_database_url, revision)
    console.print(f"Database at revision {revision}.")


@app.command("create-admin")
def create_admin(
    email: Annotated[str, typer.Option(prompt=True, help="admin's email")],
    name: Annotated[str, typer.Option(prompt=True, help="admin's display name")],
    password: Annotated[
        str,
        typer.Option(
            prompt=True,
            hide_input=True,
            confirmation_prompt=True,
            envvar="STUDYHALL_ADMIN_PASSWORD",
            help="password (prompted; or STUDYHALL_ADMIN_PASSWORD)",
        ),
    ],
) -> None:
    """Create a verified admin account (the first one, or another)."""
    from studyhall.core.errors import StudyhallError

    settings = _load_settings()
    if settings.is_sqlite:
        _migrate(settings)
    try:
        asyncio.run(_create_admin(settings, email, name, password))
    except StudyhallError as exc:
        console.print(f"[red]Could not create the admin:[/] {exc.detail}")
        raise typer.Exit(code=1) from exc
    console.print(f"Admin {email} created; sign in at {settings.base_url}/login.")


async def _create_admin(settings: Settings, email: str, name: str, password: str) -> None:
    from pydantic import EmailStr, TypeAdapter, ValidationError

    import studyhall.models  # noqa: F401
    from studyhall.accounts import service
    from studyhall.core.db import make_engine, make_sessionmaker, session_scope
    from studyhall.core.errors import ValidationFailed

    try:
        TypeAdapter(EmailStr).validate_python(email)
    except ValidationError as exc:
        raise ValidationFailed(f"{email!r} is not a valid email address.") from exc
    engine = make_engine(settings)
    try:
        async with session_scope(make_sessionmaker(engine)) as db:
            await service.create_admin(db, email, name, password)
    finally:
        await engine.dispose()


if __name__ == "__main__":
    app()
