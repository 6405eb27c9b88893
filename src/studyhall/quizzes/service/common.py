"""Who acts on quizzes, the cache keys of quizzes and categories, and how they are dropped."""

from __future__ import annotations

import hashlib
import re
import unicodedata
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.core import cache
from studyhall.core.errors import Forbidden

QUIZ_LIST_TTL = 3600
QUIZ_DETAIL_TTL = 3600
CATEGORY_LIST_TTL = 24 * 3600

QUIZ_LISTS_TAG = "quizzes:lists"
# Every cached quiz detail; dropped when a category changes (details show its name).
QUIZ_DETAILS_TAG = "quizzes:details"
CATEGORIES_TAG = "categories"


ADMIN_ROLE = "admin"
AUTHOR_ROLES = frozenset({"teacher", ADMIN_ROLE})


@dataclass(frozen=True)
class Actor:
    """Who is reading or writing quizzes, as this module needs to know it."""

    id: uuid.UUID
    is_admin: bool = False
    can_author: bool = False  # teachers (and admins) write quizzes and categories

    @classmethod
    def of(cls, user_id: uuid.UUID, roles: Iterable[str]) -> Actor:
        """From the roles of the server-side session (role names; never from the request)."""
        names = {str(role) for role in roles}
        return cls(id=user_id, is_admin=ADMIN_ROLE in names, can_author=bool(names & AUTHOR_ROLES))


def require_author(actor: Actor) -> None:
    if not (actor.can_author or actor.is_admin):
        raise Forbidden("Only teachers and admins write quizzes.", code="insufficient_role")


# ---------------------------------------------------------------- cache keys


def quiz_detail_key(quiz_id: uuid.UUID) -> str:
    return f"quiz:{quiz_id}"


def text_fingerprint(text: str) -> str:
    """A short, key-safe stand-in for free text (search words) in a cache key."""
    return hashlib.sha256(text.encode()).hexdigest()[:24] if text else "-"


# ---------------------------------------------------------------- invalidation


async def invalidate(db: AsyncSession, keys: Iterable[str] = (), tags: Iterable[str] = ()) -> None:
    """Drop cached values now and again once the transaction has committed."""
    await cache.invalidate_now_and_after_commit(db, keys, tags)


# ---------------------------------------------------------------- slugs


def slugify(name: str, max_length: int = 80) -> str:
    """`Cardiology & Vascular` -> `cardiology-vascular`; accents folded to ASCII."""
    ascii_text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:max_length].strip("-") or "category"
