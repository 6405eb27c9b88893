"""Configuration from `STUDYHALL_*` environment variables; every value has an embedded default."""

from __future__ import annotations

import json
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_VAR_DIR = Path("var")
ENV_PREFIX = "STUDYHALL_"

Environment = Literal["development", "production", "test"]


def _default_secret(var_dir: Path) -> str:
    """A per-installation secret kept in ./var so restarts keep sessions valid."""
    path = var_dir / "secret.key"
    if path.exists():
        return path.read_text().strip()
    var_dir.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    path.write_text(value)
    path.chmod(0o600)
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    env: Environment = Field("development", description="development, production or test")
    var_dir: Path = Field(DEFAULT_VAR_DIR, description="where the embedded defaults keep files")
    base_url: str = Field("http://127.0.0.1:8000", description="public URL used in email links")
    host: str = Field("127.0.0.1", description="address `serve` binds")
    port: int = Field(8000, description="port `serve` binds")
    secret_key: str = Field(
        "",
        description="signs access tokens and CSRF; required in production and with several "
        "workers, else generated in var/",
    )

    database_url: str = Field("", description="SQLAlchemy async URL; default SQLite in var/")
    database_echo: bool = Field(False, description="log every SQL statement")
    database_pool_size: int = Field(
        20, ge=1, description="PostgreSQL connections each worker keeps open"
    )
    database_max_overflow: int = Field(
        10, ge=0, description="extra connections per worker at peaks (closed after use)"
    )
    redis_url: str = Field("", description="moves cache, rate limits and job queue to Redis")
    redis_namespace: str = Field(
        "studyhall", description="prefix of keys and queue name, to share one Redis"
    )
    run_worker_in_process: bool = Field(
        True, description="consume the job queue inside `serve` (embedded default)"
    )
    worker_threads: int = Field(
        2, ge=1, description="job threads of each consumer (`serve`'s, or `studyhall worker`'s)"
    )

    # NoDecode: the env value is a comma-separated list, not JSON (a JSON list works too).
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="allowed CORS origins, comma-separated"
    )
    max_request_bytes: int = Field(
        10 * 1024 * 1024, gt=0, description="largest request body (JSON, forms) of most routes"
    )
    max_upload_bytes: int = Field(
        100 * 1024 * 1024,
        gt=0,
        description="largest request body of upload routes (a file kind may allow less)",
    )
    storage_url: str = Field(
        "", description="where uploaded files live: empty for var/uploads, or file:///folder"
    )
    trusted_proxy: bool = Field(False, description="trust X-Forwarded-For/Proto from a proxy")

    access_token_minutes: int = Field(15, description="lifetime of access JWTs")
    refresh_token_days: int = Field(30, description="lifetime of a refresh-token family")
    refresh_grace_seconds: float = Field(
        10,
        ge=0,
        description="a just-rotated refresh token returns the same new pair for this long "
        "(tabs refreshing at once); reuse after it revokes the family",
    )
    verification_hours: int = Field(24, description="lifetime of an email verification link")
    reset_minutes: int = Field(60, description="lifetime of a password reset link")
    twofa_challenge_minutes: int = Field(5, description="time to enter a 2FA code at login")

    rate_limit_global: str = Field("300/minute", description="per-IP limit on every request")
    rate_limit_user: str = Field(
        "600/minute", description="per-user limit on signed-in requests (API and pages)"
    )
    rate_limit_login_ip: str = Field("20/minute", description="login attempts per IP")
    rate_limit_login_account: str = Field("10/minute", description="login attempts per account")
    rate_limit_register: str = Field("10/hour", description="registrations per IP")
    rate_limit_password_reset: str = Field("5/hour", description="reset requests per IP")
    rate_limit_attempt_submit: str = Field(
        "1 per 5 minutes", description="real submissions of one attempt (repeats answer free)"
    )
    rate_limit_attempt_autosave: str = Field(
        "120 per minute", description="auto-saves per user (the page retries; nothing is lost)"
    )
    rate_limit_2fa: str = Field("10/minute", description="2FA code checks per IP")

    lockout_threshold: int = Field(5, description="failures before an account or IP is locked")
    lockout_base_seconds: int = Field(60, description="first lock; doubles each further failure")
    lockout_max_seconds: int = Field(3600, description="longest lock")

    smtp_host: str = Field("", description="SMTP server; empty writes mail to var/mail/")
    smtp_port: int = Field(587, description="SMTP port")
    smtp_username: str = Field("", description="SMTP user")
    smtp_password: str = Field("", description="SMTP password")
    smtp_starttls: bool = Field(True, description="use STARTTLS when the server offers it")
    mail_from: str = Field("Studyhall <no-reply@studyhall.local>", description="sender address")

    log_level: str = Field("INFO", description="log level")
    log_json: bool = Field(True, description="JSON log lines (false: console format)")
    sentry_dsn: str = Field("", description="send errors to Sentry when set")

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            if value.strip().startswith("["):
                return json.loads(value)
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @field_validator("cors_origins")
    @classmethod
    def _no_wildcard_origin(cls, value: list[str]) -> list[str]:
        # Credentials are allowed on CORS requests, and `*` with credentials would let any
        # site call the API as the signed-in user; list the origins instead.
        if "*" in value:
            raise ValueError("`*` is not allowed in cors_origins; list the allowed origins")
        return [origin.rstrip("/") for origin in value]

    @field_validator("storage_url")
    @classmethod
    def _supported_storage(cls, value: str) -> str:
        if value:
            parts = urlsplit(value)
            if parts.scheme != "file" or parts.netloc not in ("", "localhost") or not parts.path:
                raise ValueError("storage_url must be empty or file:///absolute/folder")
        return value

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{self.var_dir / 'studyhall.db'}"

    @property
    def is_sqlite(self) -> bool:
        return self.effective_database_url.startswith("sqlite")

    def secret_key_requirement(self, workers: int) -> str | None:
        """Why `serve` with this many worker processes needs STUDYHALL_SECRET_KEY set, or None
        when the secret generated in var/ will do. Processes that each generated their own
        would refuse each other's tokens and CSRF cookies (and race to write the file), and
        hosts do not share var/."""
        if self.env == "production":
            return f"{ENV_PREFIX}ENV is production"
        if workers > 1:
            return f"serve runs {workers} worker processes"
        return None

    @property
    def effective_secret_key(self) -> str:
        if not self.secret_key:
            self.secret_key = _default_secret(self.var_dir)
        return self.secret_key

    @property
    def secure_cookies(self) -> bool:
        return self.base_url.startswith("https://")


@lru_cache
def get_settings() -> Settings:
    return Settings()
