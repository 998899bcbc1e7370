"""Zendesk tickets to the daily support series the health engine reads.

Tickets are read through the cursor-based incremental export. Each page is stored in one transaction
with the export cursor, so a run that stops resumes after the last page it wrote. A ticket is kept with
what the series need: created, solved (``solved_at`` of its metrics; a ticket solved or closed without
one counts as solved when last updated, *assumed*), whether it is an escalation (priority
``escalation_priority`` or a tag of ``escalation_tags``) and its organization. A deleted ticket, or one
closed by merging it into another, is removed: the ticket it was merged into carries the request. A
ticket solved before the health window began never shows in it, so it is not kept.

Per account and day of the window (:data:`WINDOW_DAYS` days ending today, days in the install's time
zone): ``open_tickets``, the tickets open at the end of the day (created by then and not yet solved: new,
open, pending and on hold); ``tickets_created``; and ``escalations``, the escalation tickets created
that day (Zendesk's export keeps no history of when a priority changed, so an escalation counts on the
day its ticket was created, *assumed*). These series belong to Zendesk for linked accounts: they
replace whatever an import wrote for those metrics and days.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from adapters.connectors.sources_config import ZendeskConfig
from adapters.connectors.zendesk.client import Ticket
from storage import support_tickets as store

NAME = "zendesk"
WINDOW_DAYS = 90
METRICS = ("open_tickets", "tickets_created", "escalations")
SOLVED = ("solved", "closed")


def is_escalation(ticket: Ticket, config: ZendeskConfig) -> bool:
    if config.escalation_priority is not None and ticket.priority == config.escalation_priority:
        return True
    return any(tag in config.escalation_tags for tag in ticket.tags)


def solved_at(ticket: Ticket) -> datetime | None:
    if ticket.solved_at is not None:
        return ticket.solved_at
    return ticket.updated_at if ticket.status in SOLVED else None


def ticket_row(ticket: Ticket, config: ZendeskConfig) -> dict[str, Any]:
    return {
        "source": NAME,
        "ticket_id": ticket.id,
        "organization_id": ticket.organization_id,
        "created_at": ticket.created_at,
        "solved_at": solved_at(ticket),
        "updated_at": ticket.updated_at,
        "escalated": is_escalation(ticket, config),
    }


class Window:
    """The days of the health window in the install's time zone, and where each begins."""

    def __init__(self, now: datetime, timezone: str) -> None:
        self.zone = ZoneInfo(timezone)
        self.last = now.astimezone(self.zone).date()
        self.first = self.last - timedelta(days=WINDOW_DAYS - 1)
        self.days = [self.first + timedelta(days=n) for n in range(WINDOW_DAYS)]
        self.start = self.begins(self.first)

    def begins(self, day: date) -> datetime:
        return datetime.combine(day, time(), tzinfo=self.zone)

    def day_of(self, moment: datetime) -> date:
        return moment.astimezone(self.zone).date()


def daily_rows(
    account: int, tickets: Iterable[tuple[datetime, datetime | None, bool]], window: Window
) -> list[dict[str, Any]]:
    """The series rows of one account from its tickets (created, solved, escalated): ``open_tickets``
    every day, the two counts on the days they are not 0."""
    opened: dict[date, int] = defaultdict(int)  # tickets open from this day's end on
    closed: dict[date, int] = defaultdict(int)  # ... no longer open at this day's end
    created: dict[date, int] = defaultdict(int)
    escalations: dict[date, int] = defaultdict(int)
    before = 0  # open at the end of the day before the window
    for created_at, solved, escalated in tickets:
        day = window.day_of(created_at)
        gone = window.day_of(solved) if solved is not None else None
        if gone is not None and gone <= day:
            if day >= window.first:  # opened and solved the same day: created, never open at a day's end
                created[day] += 1
                escalations[day] += escalated
            continue
        if day < window.first:
            before += 1
        else:
            opened[day] += 1
            created[day] += 1
            escalations[day] += escalated
        if gone is not None:
            if gone < window.first:
                before -= 1
            else:
                closed[gone] += 1
    rows: list[dict[str, Any]] = []
    open_now = before
    for day in window.days:
        open_now += opened[day] - closed[day]
        rows.append({"account_id": account, "day": day, "metric": "open_tickets", "value": float(open_now)})
        if created[day]:
            rows.append(
                {"account_id": account, "day": day, "metric": "tickets_created", "value": float(created[day])}
            )
        if escalations[day]:
            rows.append(
                {"account_id": account, "day": day, "metric": "escalations", "value": float(escalations[day])}
            )
    return rows


async def series_rows(
    session: Any, organizations: dict[str, int], accounts: Collection[int], window: Window
) -> list[dict[str, Any]]:
    """The series rows of ``accounts`` (each linked to one of ``organizations``: org id -> account)."""
    wanted = {org: account for org, account in organizations.items() if account in accounts}
    tickets = await store.open_in_window(session, NAME, wanted, window.start)
    by_account: dict[int, list[tuple[datetime, datetime | None, bool]]] = defaultdict(list)
    for org, created, solved, escalated in tickets:
        by_account[wanted[org]].append((created, solved, escalated))
    rows: list[dict[str, Any]] = []
    for account in sorted(set(wanted.values())):
        rows.extend(daily_rows(account, by_account.get(account, []), window))
    return rows
