"""``touchpoint outbox status|retry`` and ``touchpoint digest run``: looking after scheduled messages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer

from adapters.cli.support import console, fail, open_database, run
from bot.settings import get_settings

outbox_app = typer.Typer(help="Messages waiting to be sent.", no_args_is_help=True)
digest_app = typer.Typer(help="Scheduled digests.", no_args_is_help=True)


def _age(delta: timedelta) -> str:
    minutes = max(0, int(delta.total_seconds() // 60))
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 48 * 60:
        return f"{minutes // 60} h {minutes % 60} min"
    return f"{minutes // (24 * 60)} days"


@outbox_app.command("status")
def status_command() -> None:
    """Count pending (and due), dead and sent messages; say how long the oldest due one has waited."""
    from storage.outbox import stats

    now = datetime.now(UTC)

    async def body() -> None:
        async with open_database() as db:
            counts = await stats(db, now=now)
        console.print(
            f"Pending {counts.pending} (due now {counts.due}), dead {counts.dead}, sent {counts.sent}.",
            markup=False,
            highlight=False,
        )
        if counts.oldest_due_at is not None:
            console.print(f"Oldest due message has waited {_age(now - counts.oldest_due_at)}.", markup=False)
        if counts.dead:
            console.print("Run `touchpoint outbox retry` to try the dead ones again.", markup=False)

    run(body())


@outbox_app.command("retry")
def retry_command() -> None:
    """Put every dead message back in line, with a fresh round of attempts."""
    from storage.outbox import retry_dead

    async def body() -> int:
        async with open_database() as db:
            return await retry_dead(db, now=datetime.now(UTC))

    count = run(body())
    noun = "message" if count == 1 else "messages"
    console.print(f"{count} dead {noun} back in line to be sent.", markup=False)


@digest_app.command("run")
def digest_run_command(
    subscription: Annotated[int, typer.Argument(help="The digest subscription's id.")],
    now: Annotated[bool, typer.Option("--now", help="Send it now (required).")] = False,
) -> None:
    """Queue a digest for today (in its time zone) now, then deliver it if a platform is configured.
    Today's digest is sent once: if the scheduler already queued it, nothing more is sent."""
    if not now:
        raise fail("Say --now to send this digest now; the scheduler sends it at its own time.")
    from adapters.runtime import build_senders
    from bot.delivery import DeliveryWorker
    from handlers import build_bot
    from scheduler.jobs import DigestOutcome, run_digest

    settings = get_settings()

    async def body() -> tuple[DigestOutcome, str | None, int | None]:
        async with open_database() as db:
            bot = build_bot(db, settings)
            moment = bot.context.now()
            digest = await run_digest(bot.context, subscription, now=moment, fire_time=moment)
            teams = None
            if settings.teams_configured:
                from adapters.teams.app import TeamsAdapter

                teams = TeamsAdapter(bot, settings)
            senders = build_senders(settings, teams=teams)
            if not senders:
                return digest.outcome, digest.period, None
            return digest.outcome, digest.period, await DeliveryWorker(db, senders).run_once()

    outcome, period, sent = run(body())
    messages = {
        DigestOutcome.ENQUEUED: f"Digest {subscription} for {period} queued.",
        DigestOutcome.ALREADY_QUEUED: f"Digest {subscription} for {period} was queued already; not again.",
        DigestOutcome.EMPTY: f"Digest {subscription} had nothing to say; nothing queued.",
        DigestOutcome.NO_RECIPIENT: f"Digest {subscription} has nobody to go to on its platform.",
        DigestOutcome.INACTIVE: f"No active digest subscription {subscription}.",
    }
    console.print(messages[outcome], markup=False, highlight=False)
    if sent is None:
        console.print("No platform is configured: it waits in the outbox for `serve`.", markup=False)
    else:
        console.print(f"Delivered {sent} message(s) from the outbox.", markup=False, highlight=False)
    if outcome is DigestOutcome.INACTIVE:
        raise typer.Exit(1)
