"""Outgoing mail: SMTP when configured, else files in var/mail/.

Only jobs send mail: a module queues a job carrying ids, and the job renders the message and
calls `deliver` (so no message body, nor any link in it, ever sits in the queue).
"""

from __future__ import annotations

import re
import secrets
import smtplib
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import structlog

from studyhall.core.settings import Settings, get_settings

log = structlog.get_logger("studyhall.email")
_LINK = re.compile(r"https?://\S+")


def build_message(
    settings: Settings, to: str, subject: str, text: str, html: str | None
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="studyhall.local")
    message["Date"] = datetime.now(UTC).strftime("%a, %d %b %Y %H:%M:%S +0000")
    message.set_content(text)
    if html:
        message.add_alternative(html, subtype="html")
    return message


def _send_smtp(settings: Settings, message: EmailMessage) -> None:
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=30) as smtp:
        smtp.ehlo()
        if settings.smtp_starttls and smtp.has_extn("starttls"):
            smtp.starttls(context=ssl.create_default_context())
            smtp.ehlo()
        if settings.smtp_username:
            smtp.login(settings.smtp_username, settings.smtp_password)
        smtp.send_message(message)


def _write_to_mailbox(settings: Settings, message: EmailMessage, text: str) -> Path:
    mail_dir = settings.var_dir / "mail"
    mail_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    # Two workers can write in the same microsecond; the suffix keeps both messages.
    path = mail_dir / f"{stamp}-{secrets.token_hex(4)}.eml"
    path.write_bytes(bytes(message))
    fields: dict[str, object] = {"path": str(path), "to": message["To"]}
    if settings.env != "production":
        # Development convenience without SMTP: the link is how a new user verifies an
        # account. Links carry single-use tokens, so production logs never get them.
        fields["links"] = _LINK.findall(text)
    log.info("mail_written", subject=message["Subject"], **fields)
    return path


@dataclass(frozen=True)
class Email:
    to: str
    subject: str
    text: str
    html: str | None = None


def deliver(
    to: str, subject: str, text: str, html: str | None = None, settings: Settings | None = None
) -> None:
    """Send one message now; blocking I/O, so call it from a job's thread, not the loop."""
    settings = settings or get_settings()
    message = build_message(settings, to, subject, text, html)
    if settings.smtp_host:
        _send_smtp(settings, message)
        log.info("mail_sent", to=to, subject=subject)
    else:
        _write_to_mailbox(settings, message, text)


def deliver_email(email: Email, settings: Settings | None = None) -> None:
    deliver(email.to, email.subject, email.text, email.html, settings)
