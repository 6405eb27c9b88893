"""User administration: list, roles, activation."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from studyhall.accounts.models import Role, User, UserRole
from studyhall.accounts.schemas import UserRead
from studyhall.accounts.service.common import Principal, _security_event, get_user, to_read
from studyhall.accounts.service.sessions import revoke_all_sessions
from studyhall.core.errors import Conflict
from studyhall.core.pagination import Page, PageParams, paginate


async def list_users(
    db: AsyncSession, params: PageParams, query: str = "", role: Role | None = None
) -> Page[UserRead]:
    conditions = []
    if query:
        # Escaped so that `%` and `_` in the search text match themselves, not anything.
        text = query.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"%{text}%"
        conditions.append(
            or_(
                User.email.like(pattern, escape="\\"),
                func.lower(User.name).like(pattern, escape="\\"),
            )
        )
    if role is not None:
        conditions.append(User.id.in_(select(UserRole.user_id).where(UserRole.role == role.value)))
    statement = (
        select(User)
        .where(*conditions)
        .options(selectinload(User.roles))
        .order_by(User.created_at.desc(), User.id)
    )
    return await paginate(db, statement, params, lambda users: [to_read(u) for u in users])


async def set_roles(
    db: AsyncSession, actor: Principal, user_id: uuid.UUID, roles: Sequence[Role]
) -> UserRead:
    user = await get_user(db, user_id)
    if user.id == actor.id and Role.ADMIN not in roles:
        raise Conflict("You cannot remove your own admin role.", code="self_demotion")
    user.roles = [UserRole(role=role.value) for role in sorted(set(roles))]
    await db.flush()
    _security_event(
        "roles_changed",
        user_id=str(user.id),
        by=str(actor.id),
        roles=sorted(r.value for r in roles),
    )
    return to_read(user)


async def set_active(
    db: AsyncSession, actor: Principal, user_id: uuid.UUID, is_active: bool
) -> UserRead:
    user = await get_user(db, user_id)
    if user.id == actor.id and not is_active:
        raise Conflict("You cannot deactivate yourself.", code="self_deactivation")
    user.is_active = is_active
    await db.flush()
    if not is_active:
        await revoke_all_sessions(db, user.id, "deactivated")
    _security_event(
        "user_activation_changed", user_id=str(user.id), by=str(actor.id), is_active=is_active
    )
    return to_read(user)
