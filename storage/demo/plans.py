"""Milestones and follow-ups of a demo account: the CSM's plan and the touchpoints logged against it.

Healthy accounts are on plan and touched every week or two. Declining accounts have a slipped business
review or renewal step and have not been touched for weeks. Onboarding accounts have not reached first
value yet (some are stuck before it). Completion and log times are always before ``today``, so nothing is
dated in the future.

Time to value (contract start to the first-value milestone's completion) depends on the segment: a few
weeks for small businesses, two to three months for enterprises, and about one account in seven is
slow, taking one to two months longer (every later step slips with it).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Final

from storage.demo import vocabulary as words
from storage.demo.portfolio import SHOWCASE, DemoAccount, Trajectory, rng_for
from storage.demo.usage import DIP_BOTTOM, DIP_START, USAGE_DAYS
from storage.models import FollowUpKind, FollowUpStatus, MilestoneKind

MONTHS: Final = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# Onboarding plan: (name, kind, days after contract start it is due, by segment).
ONBOARDING_PLAN: Final = (
    ("Kickoff", MilestoneKind.KICKOFF, {"smb": 5, "mid-market": 7, "enterprise": 10}),
    ("Technical setup", MilestoneKind.TECHNICAL_SETUP, {"smb": 18, "mid-market": 30, "enterprise": 45}),
    ("First value", MilestoneKind.FIRST_VALUE, {"smb": 30, "mid-market": 50, "enterprise": 75}),
    ("Go-live", MilestoneKind.GO_LIVE, {"smb": 60, "mid-market": 90, "enterprise": 120}),
)
SLOW_SHARE: Final = 0.15  # accounts past onboarding that were slow to first value ...
SLOW_EXTRA_DAYS: Final = (30, 65)  # ... by this many days more
FIRST_VALUE_BEFORE_TODAY: Final = 5  # an account past onboarding reached first value at least this long ago
QBR_SEGMENTS: Final = ("enterprise", "mid-market")
RENEWAL_PROPOSAL_DAYS: Final = 45  # the proposal is due this many days before the renewal
QBR_INTERVAL_DAYS: Final = 91


@dataclass(frozen=True, slots=True)
class DemoMilestone:
    name: str
    kind: MilestoneKind
    due_date: date
    completed_at: datetime | None = None
    snoozed_until: date | None = None


@dataclass(frozen=True, slots=True)
class DemoFollowUp:
    kind: FollowUpKind
    summary: str
    next_step: str | None
    due_date: date | None
    status: FollowUpStatus
    created_at: datetime
    done_at: datetime | None


def month_label(day: date) -> str:
    """ "Mar 2026", whatever the process locale."""
    return f"{MONTHS[day.month - 1]} {day.year}"


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=UTC)


# ------------------------------------------------------------------------------------------ milestones


class _MilestonePlanner:
    def __init__(self, account: DemoAccount, today: date, rng: random.Random) -> None:
        self.account, self.today, self.rng = account, today, rng
        self.yesterday = today - timedelta(days=1)

    def completed(
        self, due: date, lateness: tuple[int, int], *, latest: date | None = None
    ) -> datetime | None:
        """Completed ``lateness`` days around ``due`` (and no later than ``latest``), or None when that day
        has not come yet."""
        day = max(self.account.contract_start, due + timedelta(days=self.rng.randint(*lateness)))
        if latest is not None:
            day = max(self.account.contract_start, min(day, latest))
        return _at(day, self.rng.randint(13, 18)) if day <= self.yesterday else None

    def onboarding(self) -> list[DemoMilestone]:
        account = self.account
        lateness = (-3, 7) if account.trajectory is Trajectory.HEALTHY else (0, 15)
        onboarding = account.trajectory is Trajectory.ONBOARDING
        stuck_at: MilestoneKind | None = None
        if onboarding:
            # Still before first value: the showcase account at it, others at it or at the setup.
            options = [MilestoneKind.FIRST_VALUE, MilestoneKind.FIRST_VALUE, MilestoneKind.TECHNICAL_SETUP]
            stuck_at = (
                MilestoneKind.FIRST_VALUE if account.index < len(SHOWCASE) else self.rng.choice(options)
            )
        slow = not onboarding and self.rng.random() < SLOW_SHARE
        delay = self.rng.randint(*SLOW_EXTRA_DAYS) if slow else 0
        # Past onboarding, first value was reached: at the latest a few days ago, however slow.
        latest = None if onboarding else self.today - timedelta(days=FIRST_VALUE_BEFORE_TODAY)
        milestones: list[DemoMilestone] = []
        stuck = False
        previous: datetime | None = None
        for name, kind, offsets in ONBOARDING_PLAN:
            due = account.contract_start + timedelta(days=offsets[account.segment])
            slipped = delay if kind in (MilestoneKind.FIRST_VALUE, MilestoneKind.GO_LIVE) else 0
            stuck = stuck or kind is stuck_at
            done = None
            if not stuck:
                cap = latest if kind is MilestoneKind.FIRST_VALUE else None
                done = self.completed(due + timedelta(days=slipped), lateness, latest=cap)
                if done is not None and previous is not None:
                    done = max(done, previous)  # steps are completed in order
            previous = done or previous
            milestones.append(DemoMilestone(name, kind, due, done))
        return milestones

    def qbrs(self) -> list[DemoMilestone]:
        """The last business review (done, slipped or snoozed) and the next one."""
        account = self.account
        if account.segment not in QBR_SEGMENTS or account.trajectory in (
            Trajectory.ONBOARDING,
            Trajectory.CHURNED,
        ):
            return []
        last_due = self.today - timedelta(days=self.rng.randint(5, 80))
        next_due = last_due + timedelta(days=QBR_INTERVAL_DAYS)
        done: datetime | None = None
        snoozed: date | None = None
        if account.trajectory is not Trajectory.DECLINING:
            if self.rng.random() < 0.1:
                snoozed = self.today + timedelta(days=self.rng.randint(5, 14))
            else:
                done = self.completed(last_due, (0, 4))
        return [
            DemoMilestone(f"QBR {month_label(last_due)}", MilestoneKind.QBR, last_due, done, snoozed),
            DemoMilestone(f"QBR {month_label(next_due)}", MilestoneKind.QBR, next_due),
        ]

    def renewal(self) -> list[DemoMilestone]:
        """The renewal itself and, when it is near, the proposal that has to go out before it."""
        account = self.account
        if account.trajectory is Trajectory.CHURNED:
            return []
        renewal = account.renewal_date
        milestones = [DemoMilestone(f"Renewal {month_label(renewal)}", MilestoneKind.RENEWAL, renewal)]
        proposal_due = renewal - timedelta(days=RENEWAL_PROPOSAL_DAYS)
        if (renewal - self.today).days <= 120:
            done = (
                None if account.trajectory is Trajectory.DECLINING else self.completed(proposal_due, (-5, 2))
            )
            milestones.append(DemoMilestone("Renewal proposal sent", MilestoneKind.OTHER, proposal_due, done))
        return milestones


def milestones(account: DemoAccount, *, today: date, seed: int) -> list[DemoMilestone]:
    """Onboarding history, business reviews and renewal steps; names are unique within the account."""
    planner = _MilestonePlanner(account, today, rng_for(seed, account.external_id, "milestones"))
    return planner.onboarding() + planner.qbrs() + planner.renewal()


# ------------------------------------------------------------------------------------------ follow-ups


def _touch_days(account: DemoAccount, rng: random.Random, today: date) -> list[int]:
    """Days ago the owner logged a touchpoint, oldest first."""
    last, gap = {
        Trajectory.HEALTHY: ((1, 12), (7, 21)),
        Trajectory.DECLINING: ((24, 50), (8, 18)),
        Trajectory.RECOVERING: ((1, 5), (4, 9)),
        Trajectory.ONBOARDING: ((1, 6), (5, 8)),
        Trajectory.CHURNED: ((0, 5), (8, 15)),
    }[account.trajectory]
    oldest = min(USAGE_DAYS - 1, (today - account.contract_start).days - 1)
    days_ago = rng.randint(*last)
    if account.churned_on is not None:
        days_ago += (today - account.churned_on).days
    touches: list[int] = []
    while days_ago <= oldest:
        touches.append(days_ago)
        days_ago += rng.randint(*gap)
    return touches[::-1]


def _pool(account: DemoAccount, order: int, days_ago: int, today: date) -> tuple[words.FollowUpText, ...]:
    """The texts that fit the account's story at that point in time."""
    match account.trajectory:
        case Trajectory.DECLINING:
            return words.DECLINING_FOLLOW_UPS if days_ago < 45 else words.HEALTHY_FOLLOW_UPS
        case Trajectory.RECOVERING:
            if days_ago >= DIP_START:
                return words.HEALTHY_FOLLOW_UPS
            return words.DECLINING_FOLLOW_UPS if days_ago >= DIP_BOTTOM[1] else words.RECOVERING_FOLLOW_UPS
        case Trajectory.ONBOARDING:
            first_steps = words.ONBOARDING_FOLLOW_UPS
            return (
                first_steps[order : order + 1]
                if order < len(first_steps)
                else words.ONBOARDING_ONGOING_FOLLOW_UPS
            )
        case Trajectory.CHURNED:
            assert account.churned_on is not None
            near_end = days_ago - (today - account.churned_on).days < 30
            return words.CHURNING_FOLLOW_UPS if near_end else words.DECLINING_FOLLOW_UPS
        case _:
            return words.HEALTHY_FOLLOW_UPS


class _TextDeck:
    """Draws texts from a pool like cards from a shuffled deck, so one account rarely repeats itself."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.decks: dict[tuple[words.FollowUpText, ...], list[words.FollowUpText]] = {}

    def draw(self, pool: tuple[words.FollowUpText, ...]) -> words.FollowUpText:
        deck = self.decks.setdefault(pool, [])
        if not deck:
            deck.extend(pool)
            self.rng.shuffle(deck)
        return deck.pop()


class _FollowUpWriter:
    def __init__(self, account: DemoAccount, today: date, rng: random.Random) -> None:
        self.account, self.today, self.rng = account, today, rng
        self.yesterday = today - timedelta(days=1)

    def note(self, day: date, summary: str) -> DemoFollowUp:
        created = _at(day, self.rng.randint(13, 21), self.rng.randint(0, 59))
        return DemoFollowUp(FollowUpKind.NOTE, summary, None, None, FollowUpStatus.DONE, created, created)

    def step(
        self, kind: FollowUpKind, summary: str, next_step: str | None, day: date, *, latest: bool
    ) -> DemoFollowUp:
        """A touchpoint with a next step: the latest stays open, a few older ones were forgotten."""
        created = _at(day, self.rng.randint(13, 20), self.rng.randint(0, 59))
        due = day + timedelta(days=self.rng.randint(3, 10))
        forgotten = self.rng.random() < 0.1 and self.account.trajectory is not Trajectory.CHURNED
        if (latest and self.account.trajectory is not Trajectory.CHURNED) or forgotten:
            return DemoFollowUp(kind, summary, next_step, due, FollowUpStatus.OPEN, created, None)
        done_day = min(self.yesterday, max(day, due - timedelta(days=self.rng.randint(0, 3))))
        done = max(created + timedelta(hours=1), _at(done_day, self.rng.randint(13, 21)))
        return DemoFollowUp(kind, summary, next_step, due, FollowUpStatus.DONE, created, done)


def follow_ups(
    account: DemoAccount, *, today: date, seed: int, plan: list[DemoMilestone]
) -> list[DemoFollowUp]:
    """Touchpoints the owner logged, oldest first: regular ones, one per review held, an exit note."""
    rng = rng_for(seed, account.external_id, "follow-ups")
    writer = _FollowUpWriter(account, today, rng)
    touches = _touch_days(account, rng, today)
    logged: list[DemoFollowUp] = []
    contact = account.contacts[0].first_name
    deck = _TextDeck(rng)
    for order, days_ago in enumerate(touches):
        kind, summary, next_step = deck.draw(_pool(account, order, days_ago, today))
        day = today - timedelta(days=days_ago)
        if next_step is None:
            logged.append(writer.note(day, summary.format(contact=contact)))
        else:
            latest = order == len(touches) - 1
            logged.append(writer.step(kind, summary.format(contact=contact), next_step, day, latest=latest))
    for milestone in plan:
        held = milestone.completed_at
        if (
            milestone.kind is MilestoneKind.QBR
            and held is not None
            and (today - held.date()).days < USAGE_DAYS
        ):
            summary, next_step = words.QBR_FOLLOW_UP
            logged.append(
                writer.step(
                    FollowUpKind.QBR, summary.format(contact=contact), next_step, held.date(), latest=False
                )
            )
    if account.churned_on is not None:
        exit_day = min(today - timedelta(days=1), account.churned_on + timedelta(days=3))
        logged.append(writer.note(exit_day, words.EXIT_NOTE.format(contact=contact)))
    return sorted(logged, key=lambda f: (f.created_at, f.kind.value, f.summary))
