"""The text of the emails the accounts module sends."""

from __future__ import annotations

from studyhall.core.email import send_email


def send_verification(to: str, name: str, link: str, hours: int) -> None:
    send_email(
        to,
        "Verify your Studyhall email address",
        f"Hello {name},\n\nConfirm your email address to finish creating your Studyhall "
        "account:\n\n"
        f"{link}\n\nThe link works once and expires in {hours} hours. If you did not sign up, "
        "ignore this message.\n",
    )


def send_already_registered(to: str, link: str) -> None:
    send_email(
        to,
        "Someone tried to sign up with your email address",
        "Someone (maybe you) tried to create a Studyhall account with this address, which already "
        f"has one. If you forgot your password, reset it here:\n\n{link}\n",
    )


def send_password_reset(to: str, name: str, link: str, minutes: int) -> None:
    send_email(
        to,
        "Reset your Studyhall password",
        f"Hello {name},\n\nReset your password with this link:\n\n{link}\n\nIt works once and "
        f"expires in {minutes} minutes. Resetting signs you out everywhere. If you did not ask "
        "for this, ignore this message; your password stays as it is.\n",
    )


def send_account_locked(to: str, name: str, minutes: int, ip: str) -> None:
    send_email(
        to,
        "Your Studyhall account was locked",
        f"Hello {name},\n\nAfter several failed sign-in attempts (last from {ip}), sign-in to "
        f"your account is locked for {minutes} minute(s). If this was not you, reset your "
        "password and turn on two-factor authentication.\n",
    )


def send_password_changed(to: str, name: str) -> None:
    send_email(
        to,
        "Your Studyhall password was changed",
        f"Hello {name},\n\nYour password was changed and every session was signed out. If this "
        "was not you, reset your password now.\n",
    )
