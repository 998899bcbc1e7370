"""Bearer tokens of the ingest API: ``tp_`` + 32 random bytes (URL-safe base64); only the SHA-256 of
the whole secret is stored, so the secret is shown once, when the token is created."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import Database
from storage.models import ApiToken
from storage.types import utcnow

PREFIX = "tp_"
MAX_NAME = 64


class TokenError(ValueError):
    """A token cannot be created or revoked as asked; the message says why."""


@dataclass(frozen=True, slots=True)
class NewToken:
    token: ApiToken
    secret: str


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def new_secret() -> str:
    return PREFIX + secrets.token_urlsafe(32)


async def create_token(db: Database, name: str, kinds: Sequence[str] | None = None) -> NewToken:
    """A new token named ``name`` (unique), limited to ``kinds`` when given."""
    name = name.strip()
    if not name or len(name) > MAX_NAME:
        raise TokenError(f"a token name has 1 to {MAX_NAME} characters")
    if name.isdigit():
        raise TokenError("a token name cannot be only digits (revoke takes a name or an id)")
    secret = new_secret()
    token = ApiToken(
        name=name, token_hash=hash_secret(secret), kinds=sorted(set(kinds)) if kinds is not None else None
    )
    try:
        async with db.transaction() as session:
            session.add(token)
    except IntegrityError:
        raise TokenError(f"a token named {name!r} already exists") from None
    return NewToken(token, secret)


async def list_tokens(db: Database) -> list[ApiToken]:
    async with db.sessions() as session:
        return list((await session.scalars(select(ApiToken).order_by(ApiToken.id))).all())


async def revoke_token(db: Database, name_or_id: str) -> ApiToken:
    """Revoke the token with that name (or id); revoking a revoked token is an error."""
    async with db.transaction() as session:
        query = select(ApiToken).where(ApiToken.name == name_or_id.strip())
        if name_or_id.strip().isdigit():
            query = select(ApiToken).where(ApiToken.id == int(name_or_id))
        token = await session.scalar(query)
        if token is None:
            raise TokenError(f"no token named {name_or_id!r}")
        if token.revoked_at is not None:
            raise TokenError(f"token {token.name!r} is already revoked")
        token.revoked_at = utcnow()
    return token


async def find_token(session: AsyncSession, secret: str) -> ApiToken | None:
    """The token whose secret this is (revoked or not), or None."""
    if not secret.startswith(PREFIX):
        return None
    return await session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_secret(secret)))
