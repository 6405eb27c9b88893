"""structlog JSON logging with the request id on every line and secrets scrubbed."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping, MutableMapping
from typing import Any

import structlog
from asgi_correlation_id.context import correlation_id

SENSITIVE_KEYS = re.compile(
    r"pass(word)?|secret|token|code|otp|authorization|cookie|csrf|api[_-]?key", re.IGNORECASE
)
REDACTED = "[redacted]"
# Keys that contain a sensitive word but are safe and useful to keep.
SAFE_KEYS = frozenset({"status_code", "code_path", "error_code", "problem_code"})


def _add_request_id(
    _logger: Any, _name: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    request_id = correlation_id.get()
    if request_id and "request_id" not in event:
        event["request_id"] = request_id
    return event


def _is_sensitive(key: object) -> bool:
    return isinstance(key, str) and key not in SAFE_KEYS and bool(SENSITIVE_KEYS.search(key))


def _scrub(value: Any, depth: int = 0) -> Any:
    """Redact sensitive keys inside nested dicts and lists (e.g. a logged request body)."""
    if depth > 8:
        return value
    if isinstance(value, Mapping):
        return {k: REDACTED if _is_sensitive(k) else _scrub(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(item, depth + 1) for item in value]
    if type(value) is tuple:
        return tuple(_scrub(item, depth + 1) for item in value)
    return value


def _redact(_logger: Any, _name: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in list(event):
        if key in ("event", "exc_info"):
            continue
        if _is_sensitive(key):
            event[key] = REDACTED
        elif isinstance(event[key], Mapping | list | tuple):
            event[key] = _scrub(event[key])
    return event


def configure_logging(level: str = "INFO", json: bool = True) -> None:
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _add_request_id,
        _redact,
    ]
    renderer: Any = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level.upper())
    # uvicorn's own access log would duplicate our one-line-per-request log.
    logging.getLogger("uvicorn.access").disabled = True
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers = []
        logging.getLogger(name).propagate = True


def security_event(name: str, **fields: Any) -> None:
    """Security-relevant events share one logger so operators can alert on them."""
    structlog.get_logger("studyhall.security").warning(name, security_event=True, **fields)
