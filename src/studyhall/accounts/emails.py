"""The text of the emails the accounts module sends (rendered by its jobs, see tasks.py)."""

from __future__ import annotations

from studyhall.core.email import Email


def verification(to: str, name: str, link: str, hours: int) -> Email:
    return Email(
        to,
        "Verify your Studyhall email address",
        f"Hello {name},\n\nConfirm your email address to finish creating your Studyhall "
        "account:\n\n"
        f"{link}\n\nThe link works once and expires in {hours} hours. If you did not sign up, "
        "ignore this message.\n",
    )


def already_registered(to: str, link: str) -> Email:
    return Email(
        to,
        "Someone tried to sign up with your email address",
        "Someone (maybe you) tried to create a Studyhall account with this address, which already "
        f"has one. If you forgot your password, reset it here:\n\n{link}\n",
    )


def password_reset(to: str, name: str, link: str, minutes: int) -> Email:
    return Email(
        to,
        "Reset your Studyhall password",
        f"Hello {name},\n\nReset your password with this link:\n\n{link}\n\nIt works once and "
        f"expires in {minutes} minutes. Resetting signs you out everywhere. If you did not ask "
        "for this, ignore this message; your password stays as it is.\n",
    )


def account_locked(to: str, name: str, minutes: int, ip: str) -> Email:
    return Email(
        to,
        "Your Studyhall account was locked",
        f"Hello {name},\n\nAfter several failed sign-in attempts (last from {ip}), sign-in to "
        f"your account is locked for {minutes} minute(s). If this was not you, reset your "
        "password and turn on two-factor authentication.\n",
    )


def password_changed(to: str, name: str) -> Email:
    return Email(
        to,
        "Your Studyhall password was changed",
        f"Hello {name},\n\nYour password was changed and every session was signed out. If this "
        "was not you, reset your password now.\n",
    )
