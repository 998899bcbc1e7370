"""``sync status``: what the last run of each CRM connector did, for CS managers and admins (the same
lines as ``touchpoint sync status``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from bot.core.context import BotContext
from bot.core.permissions import can_manage_settings
from bot.core.registry import Registry
from bot.errors import BadArguments, NotAllowed
from bot.format import plural
from bot.types import Context, Header, Reply, Request, Response, Text
from storage.connectors import RunReport, last_runs

LABELS = {"hubspot": "HubSpot", "salesforce": "Salesforce", "zendesk": "Zendesk", "segment": "Segment"}
COUNTS = (
    "read",
    "created",
    "updated",
    "unchanged",
    "skipped",
    "archived",
    "merged",
    "renewal_dates",
    "renewals_closed",
    "written",
    "write_failed",
    "tickets",
    "series_written",
    "ratings",
    "feedback_items",
)
# The counts that are things rather than what was done to them: "1 ticket", "2 tickets".
SINGULAR = {
    "tickets": "ticket",
    "ratings": "rating",
    "feedback_items": "feedback item",
    "renewal_dates": "renewal date",
}
SHOWN_PROBLEMS = 5


def register(registry: Registry) -> None:
    registry.command(
        "sync", usage="sync status", summary="what the last CRM syncs read and wrote (managers)"
    )(sync_command)


async def sync_command(ctx: BotContext, request: Request) -> Response:
    if request.args[:1] != ("status",) or len(request.args) > 1:
        raise BadArguments("Try `sync status`: what the last CRM syncs read and wrote.")
    if not can_manage_settings(request.actor):
        raise NotAllowed("Only CS managers and admins can see the CRM syncs.")
    reports = await last_runs(ctx.db)
    if not reports:
        return Reply(
            summary="No CRM sync has run yet",
            blocks=(
                Header("CRM sync"),
                Text("No sync has run yet. An admin starts one with `touchpoint sync hubspot --full`."),
            ),
        )
    blocks: list[Header | Text | Context] = [Header("CRM sync")]
    for report in reports:
        lines = status_lines(report)
        blocks.append(Text("\n".join(lines)))
    summary = "; ".join(f"{LABELS.get(r.connector, r.connector)} {r.status}" for r in reports)
    blocks.append(Context(("Times in UTC · `touchpoint sync status` shows the same",)))
    return Reply(summary=f"CRM sync: {summary}", blocks=tuple(blocks))


def status_lines(report: RunReport, *, problems: int = SHOWN_PROBLEMS) -> list[str]:
    """One run as text: the connector, when, what kind, how long, the counts, the error, the last problems."""
    took = (
        f"{(report.finished_at - report.started_at).total_seconds():.1f} s"
        if report.finished_at
        else "still running"
    )
    kind = ("full" if report.full else "incremental") + (", dry run" if report.dry_run else "")
    lines = [
        f"{LABELS.get(report.connector, report.connector)}: {report.status} · "
        f"{report.started_at:%Y-%m-%d %H:%M} UTC ({kind}) · took {took}",
        counts_text(report.counts),
    ]
    if report.error:
        lines.append(f"Error: {report.error}")
    lines += problem_lines(report.problems[-problems:])
    return lines


def _word(name: str, count: int) -> str:
    return SINGULAR[name] if count == 1 and name in SINGULAR else name.replace("_", " ")


def counts_text(counts: Mapping[str, int]) -> str:
    """The counts of a run: how many were read, then only the others that are not 0."""
    parts = [
        f"{counts.get(name, 0):,} {_word(name, counts.get(name, 0))}"
        for name in COUNTS
        if name == "read" or counts.get(name)
    ]
    return " · ".join([*parts, plural(counts.get("problems", 0), "problem")])


def problem_lines(problems: Sequence[Mapping[str, str]]) -> list[str]:
    return [f"• {p.get('record')}: {p.get('field')}: {p.get('problem')}" for p in problems]
