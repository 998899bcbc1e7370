"""A channel follows an account: ``follow``/``unfollow``/``following``, events posted once by the feed
and the delivery worker, and channels shared with another organisation kept out unless an admin allowed
chosen fields. Over HTTP with signed Slack requests and Bot Framework activities, against the fake
Slack and Bot Connector, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from sqlalchemy import update

from bot.channels.feed import AccountEvent
from scheduler.channel_feed import after_follow, post_channel_events
from storage.db import Database
from storage.models import ChannelFollow, FeedbackItem, Person
from tests.factories import MAYA, NOW, TODAY, Team, add_snapshot, count
from tests.fakes.teams import Call
from tests.loop_env import MAYA_SLACK, SAM_SLACK, LoopEnv, loop_env
from tests.loop_env import team as team  # the fixture
from tests.slack_env import reply_text
from tests.slack_requests import CHANNEL_ID, slash_command
from tests.teams_activities import CHANNEL_ID as TEAMS_CHANNEL
from tests.teams_activities import channel_message, user

SHARED = "CSHARED01"


async def ask_slack(env: LoopEnv, text: str, *, channel: str = CHANNEL_ID, user: str = MAYA_SLACK) -> str:
    name = f"r{len(env.slack.of('response_url'))}"
    await env.to_slack(
        slash_command(text, user_id=user, response_url=env.slack.response_url(name), channel_id=channel)
    )
    answer = env.slack.of("response_url")[-1]
    return reply_text(answer.body) + f"\n[{answer.body.get('response_type')}]"


TOMORROW = NOW + timedelta(days=1)


async def band_change(db: Database, account_id: int) -> None:
    """Acme Rockets is red today (the seed); tomorrow it is green: a band change after the follow."""
    await add_snapshot(db, account_id, TODAY + timedelta(days=1), 75.0)


async def feed_and_deliver(env: LoopEnv) -> int:
    env.now = TOMORROW
    stats = await post_channel_events(env.bot.context, now=TOMORROW)
    await env.deliver()
    return stats.enqueued


def posts(env: LoopEnv, channel: str) -> list[str]:
    return [
        reply_text(call.body)
        for call in env.slack.of("chat.postMessage")
        if call.body.get("channel") == channel
    ]


async def test_a_followed_account_s_band_change_reaches_the_channel_once(
    db: Database, tmp_path: Path, team: Team
) -> None:
    async with loop_env(db, tmp_path) as env:
        answer = await ask_slack(env, "follow acme rockets")
        assert "This channel now follows Acme Rockets" in answer
        assert "[in_channel]" in answer  # the whole channel sees what it will get
        assert "already follows" in await ask_slack(env, "follow Acme Rockets")
        assert await count(db, ChannelFollow) == 1

        await band_change(db, team.acme_rockets)
        assert await feed_and_deliver(env) == 1
        [post] = posts(env, CHANNEL_ID)
        assert "Acme Rockets" in post and "Health red → green" in post
        assert "unfollow Acme Rockets" in post

        # Another run finds nothing new: each event is keyed once per follow.
        assert await feed_and_deliver(env) == 0
        assert len(posts(env, CHANNEL_ID)) == 1
        # Older history (overdue milestones from before the follow) was never posted.
        assert not any("overdue" in p for p in posts(env, CHANNEL_ID))

        listed = await ask_slack(env, "following")
        assert "Acme Rockets" in listed and "since 2026-11-25" in listed
        assert "no longer follows Acme Rockets" in await ask_slack(env, "unfollow acme rockets")
        assert "follows no account" in await ask_slack(env, "following")
        assert await count(db, ChannelFollow) == 0


async def test_a_channel_shared_with_another_organisation_is_refused_until_an_admin_allows_fields(
    db: Database, tmp_path: Path, team: Team
) -> None:
    async with loop_env(db, tmp_path) as env:
        env.slack.share_externally(SHARED)
        refused = await ask_slack(env, "follow acme rockets", channel=SHARED)
        assert "shared with another organisation" in refused and "channel allow" in refused
        assert await count(db, ChannelFollow) == 0

        # Only an admin chooses what may go there.
        assert "Only admins" in await ask_slack(env, "channel allow health", channel=SHARED)
        assert "I do not know spicy" in await ask_slack(
            env, "channel allow spicy", channel=SHARED, user=SAM_SLACK
        )
        assert "may now get: health" in await ask_slack(
            env, "channel allow health", channel=SHARED, user=SAM_SLACK
        )
        status = await ask_slack(env, "channel", channel=SHARED)
        assert "shared with another organisation" in status and "Allowed if shared: health" in status

        followed = await ask_slack(env, "follow acme rockets", channel=SHARED)
        assert "now follows Acme Rockets" in followed and "only health" in followed

        # Health may go there; a feedback item about the account may not.
        await band_change(db, team.acme_rockets)
        async with db.transaction() as session:
            session.add(
                FeedbackItem(
                    account_id=team.acme_rockets,
                    originator_id=team.priya,
                    originator_team="cx",
                    text="Exports time out for the whole finance team",
                    state="new",
                    created_at=TOMORROW,
                    updated_at=TOMORROW,
                )
            )
        env.now = TOMORROW
        stats = await post_channel_events(env.bot.context, now=TOMORROW)
        assert (stats.enqueued, stats.withheld) == (1, 1)
        await env.deliver()
        [post] = posts(env, SHARED)
        assert "Health red → green" in post and "Exports" not in post

        # Withdrawn: nothing more goes there.
        assert "No account data goes into this channel" in await ask_slack(
            env, "channel deny", channel=SHARED, user=SAM_SLACK
        )
        await add_snapshot(db, team.acme_rockets, TODAY + timedelta(days=2), 20.0)
        stats = await post_channel_events(env.bot.context, now=TOMORROW + timedelta(days=1))
        assert stats.enqueued == 0


async def test_following_is_for_channels_not_direct_messages(
    db: Database, tmp_path: Path, team: Team
) -> None:
    async with loop_env(db, tmp_path) as env:
        answer = await ask_slack(env, "follow acme rockets", channel="DMAYA0001")
        assert "Following is for channels" in answer and "[ephemeral]" in answer
        assert await count(db, ChannelFollow) == 0


async def test_a_channel_slack_cannot_describe_is_kept_out(db: Database, tmp_path: Path, team: Team) -> None:
    async with loop_env(db, tmp_path) as env:
        env.slack.channels["CGONE0001"] = {"missing": True}
        answer = await ask_slack(env, "follow acme rockets", channel="CGONE0001")
        assert "could not tell whether this channel is shared" in answer
        assert await count(db, ChannelFollow) == 0


def test_day_only_events_count_from_the_day_of_the_follow() -> None:
    since = NOW

    def event(at_hours: float, *, timed: bool) -> AccountEvent:
        return AccountEvent(1, "Acme", "health", "x", NOW + timedelta(hours=at_hours), "band:x", timed=timed)

    assert after_follow(event(0, timed=True), since)
    assert not after_follow(event(-1, timed=True), since)
    # Known only by its day: from the day after the follow (the follow's own day may be from before it).
    assert not after_follow(event(11, timed=False), since)
    assert after_follow(event(13, timed=False), since)


def card_words(call: Call) -> str:
    return json.dumps(call.body.get("attachments") or [], ensure_ascii=False)


async def test_a_teams_channel_follows_an_account_and_gets_its_band_change(
    db: Database, tmp_path: Path, team: Team
) -> None:
    maya = user("maya", "Maya Chen", MAYA)
    async with db.transaction() as session:
        await session.execute(update(Person).where(Person.id == team.maya).values(teams_user_id=maya.aad))
    async with loop_env(db, tmp_path) as env:
        await env.to_teams(channel_message("follow acme rockets", maya, service_url=env.teams.service_url))
        [answer] = env.teams.of("reply")
        assert "This channel now follows Acme Rockets" in card_words(answer)

        await band_change(db, team.acme_rockets)
        assert await feed_and_deliver(env) == 1
        [post] = [c for c in env.teams.of("send") if c.conversation_id == TEAMS_CHANNEL]
        assert "Health red → green" in card_words(post)
        assert await feed_and_deliver(env) == 0
        assert len([c for c in env.teams.of("send") if c.conversation_id == TEAMS_CHANNEL]) == 1


async def test_a_teams_shared_channel_is_refused(db: Database, tmp_path: Path, team: Team) -> None:
    maya = user("maya", "Maya Chen", MAYA)
    async with db.transaction() as session:
        await session.execute(update(Person).where(Person.id == team.maya).values(teams_user_id=maya.aad))
    async with loop_env(db, tmp_path) as env:
        activity = channel_message("follow acme rockets", maya, service_url=env.teams.service_url)
        activity["channelData"]["channel"]["type"] = "shared"
        await env.to_teams(activity)
        [answer] = env.teams.of("reply")
        assert "shared with another organisation" in card_words(answer)
        assert await count(db, ChannelFollow) == 0
