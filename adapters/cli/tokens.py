"""``touchpoint tokens create|list|revoke``: bearer tokens of the ingest API."""

from __future__ import annotations

from typing import Annotated

import typer

from adapters.api.segment import KIND as SEGMENT
from adapters.cli.support import console, fail, open_database, run
from storage.api_tokens import NewToken, TokenError, create_token, list_tokens, revoke_token
from storage.importer import KINDS
from storage.models import ApiToken

# What a token may send: each record kind, and Segment's calls.
TOKEN_KINDS = (*KINDS, SEGMENT)

tokens_app = typer.Typer(help="Bearer tokens of the ingest API (/api/v1).", no_args_is_help=True)


def _kinds(raw: str | None) -> list[str] | None:
    if raw is None:
        return None
    kinds = [k.strip().lower() for k in raw.split(",") if k.strip()]
    unknown = [k for k in kinds if k not in TOKEN_KINDS]
    if unknown or not kinds:
        raise fail(f"--kinds takes a comma-separated list of: {', '.join(TOKEN_KINDS)}")
    return kinds


@tokens_app.command("create")
def create_command(
    name: Annotated[str, typer.Argument(help="A unique name, e.g. the sending system.")],
    kinds: Annotated[
        str | None,
        typer.Option(
            "--kinds", help="Limit the token to these kinds, e.g. accounts,usage or segment (default: all)."
        ),
    ] = None,
) -> None:
    """Create a token and print its secret: it is shown this once, only its hash is stored."""
    allowed = _kinds(kinds)

    async def body() -> NewToken:
        async with open_database() as db:
            return await create_token(db, name, allowed)

    try:
        made = run(body())
    except TokenError as exc:
        raise fail(str(exc)) from None
    console.print(f"Created token {made.token.name} (id {made.token.id}). Its secret, shown only now:")
    console.print(made.secret, markup=False, highlight=False, soft_wrap=True)


@tokens_app.command("list")
def list_command() -> None:
    """List tokens: id, name, kinds, created, last used, revoked."""

    async def body() -> list[ApiToken]:
        async with open_database() as db:
            return await list_tokens(db)

    tokens = run(body())
    if not tokens:
        console.print("No tokens.")
        return
    for token in tokens:
        kinds = ",".join(token.kinds) if token.kinds is not None else "all kinds"
        used = token.last_used_at.isoformat(timespec="seconds") if token.last_used_at else "never used"
        state = f"revoked {token.revoked_at.isoformat(timespec='seconds')}" if token.revoked_at else "active"
        console.print(
            f"{token.id}\t{token.name}\t{kinds}\tcreated {token.created_at.isoformat(timespec='seconds')}"
            f"\t{used}\t{state}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )


@tokens_app.command("revoke")
def revoke_command(name_or_id: Annotated[str, typer.Argument(help="The token's name or id.")]) -> None:
    """Revoke a token: requests with it get 401 from now on."""

    async def body() -> ApiToken:
        async with open_database() as db:
            return await revoke_token(db, name_or_id)

    try:
        token = run(body())
    except TokenError as exc:
        raise fail(str(exc)) from None
    console.print(f"Revoked token {token.name} (id {token.id}).", markup=False, highlight=False)
