"""Request and response models of the accounts API."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import EmailStr, Field, field_validator

# Enums other modules use come from here, never from models.
from studyhall.accounts.models import Role as Role
from studyhall.core.schemas import Schema


class UserCreate(Schema):
    email: EmailStr
    name: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=1, max_length=256)

    @field_validator("name")
    @classmethod
    def _strip_name(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("name must not be blank")
        return value


class UserRead(Schema):
    id: uuid.UUID
    email: str
    name: str
    roles: list[Role]
    is_active: bool
    email_verified: bool
    totp_enabled: bool
    created_at: datetime
    last_login_at: datetime | None


class LoginRequest(Schema):
    email: EmailStr
    password: str = Field(min_length=1, max_length=256)


class TwoFactorLoginRequest(Schema):
    challenge: str = Field(min_length=1, max_length=2000)
    code: str = Field(min_length=6, max_length=20)


class TokenPair(Schema):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"  # noqa: S105
    expires_in: int


class TwoFactorChallenge(Schema):
    mfa_required: bool = True
    challenge: str
    expires_in: int


class RefreshRequest(Schema):
    refresh_token: str = Field(min_length=10, max_length=200)


class LogoutRequest(Schema):
    refresh_token: str | None = Field(default=None, max_length=200)


class VerifyEmailRequest(Schema):
    token: str = Field(min_length=10, max_length=200)


class EmailRequest(Schema):
    email: EmailStr


class PasswordResetConfirm(Schema):
    token: str = Field(min_length=10, max_length=200)
    password: str = Field(min_length=1, max_length=256)


class PasswordChange(Schema):
    current_password: str = Field(min_length=1, max_length=256)
    new_password: str = Field(min_length=1, max_length=256)


class SessionRead(Schema):
    id: uuid.UUID
    kind: str
    device: str
    ip_address: str
    created_at: datetime
    last_used_at: datetime
    current: bool


class TotpSetup(Schema):
    secret: str
    otpauth_uri: str
    qr_svg: str


class TotpCode(Schema):
    code: str = Field(min_length=6, max_length=8)


class TotpDisable(Schema):
    password: str = Field(min_length=1, max_length=256)
    code: str = Field(min_length=6, max_length=20)


class BackupCodes(Schema):
    backup_codes: list[str]


class RolesUpdate(Schema):
    roles: list[Role] = Field(min_length=1)


class ActiveUpdate(Schema):
    is_active: bool


class Message(Schema):
    detail: str
