"""Password policy: long enough, not a common password, not the user's own email or name."""

from __future__ import annotations

from functools import lru_cache

from zxcvbn.frequency_lists import FREQUENCY_LISTS

from studyhall.core.errors import ValidationFailed

MIN_LENGTH = 10
MAX_LENGTH = 128


@lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    # zxcvbn ships the 30,000 most common leaked passwords.
    return frozenset(FREQUENCY_LISTS["passwords"])


def password_problems(password: str, email: str = "", name: str = "") -> list[str]:
    problems: list[str] = []
    if len(password) < MIN_LENGTH:
        problems.append(f"Use at least {MIN_LENGTH} characters.")
    if len(password) > MAX_LENGTH:
        problems.append(f"Use at most {MAX_LENGTH} characters.")
    lowered = password.lower()
    if lowered in _common_passwords() or lowered.strip("0123456789!") in _common_passwords():
        problems.append("This password is too common; choose one that is harder to guess.")
    elif len(set(password)) < 4:
        problems.append("Use more than three different characters.")
    local_part = email.split("@", 1)[0].lower()
    if (local_part and len(local_part) >= 4 and local_part in lowered) or (
        name and len(name) >= 4 and name.lower() in lowered
    ):
        problems.append("Do not use your email address or name in your password.")
    return problems


def check_password_policy(password: str, email: str = "", name: str = "") -> None:
    problems = password_problems(password, email, name)
    if problems:
        raise ValidationFailed(
            " ".join(problems),
            code="weak_password",
            extra={
                "errors": [
                    {"loc": ["password"], "msg": p, "type": "weak_password"} for p in problems
                ]
            },
        )
