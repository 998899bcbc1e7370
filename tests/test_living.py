"""Living messages over HTTP: a feedback item is one message per place, rewritten in place as its state
changes (Slack ``chat.update``, Teams ``updateActivity``), and the replies in its thread land on the
item's history and the account's timeline."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from bot.feedback.items import transition
from bot.types import Actor, Platform
from scheduler.alerts import enqueue_health_alerts, note_recoveries
from storage.db import Database
from storage.models import InboundEvent, OutboxMessage, ThreadReply
from tests.factories import NOW, Team, add_snapshot
from tests.loop_env import MAYA_SLACK, PRIYA_TEAMS, LoopEnv, loop_env
from tests.loop_env import team as team  # the fixture
from tests.slack_env import button, buttons, reply_text
from tests.slack_requests import click, event, modal_state, slash_command, view_submission
from tests.teams_activities import CHANNEL_ID, bot_added, channel_message, personal_message

CS_CHANNEL = "CCSTEAM01"


async def send_detractor_feedback(env: LoopEnv) -> None:
    """Priya (CX, Teams) sends feedback about Acme Rockets: it goes to Maya's DM and the CS channel."""
    await env.to_teams(
        personal_message(
            "feedback acme rockets Detractor: exports time out every Monday",
            PRIYA_TEAMS,
            service_url=env.teams.service_url,
        )
    )


def thread_reply(text: str, *, channel: str, root: str, ts: str, user: str = MAYA_SLACK) -> dict[str, Any]:
    channel_type = "im" if channel.startswith("D") else "channel"
    return {
        "type": "message",
        "channel": channel,
        "channel_type": channel_type,
        "user": user,
        "text": text,
        "ts": ts,
        "thread_ts": root,
        "event_ts": ts,
    }


async def timeline_text(env: LoopEnv, name: str) -> str:
    await env.to_slack(
        slash_command(
            "timeline ACME-001 feedback", user_id=MAYA_SLACK, response_url=env.slack.response_url(name)
        )
    )
    [answer] = [c for c in env.slack.of("response_url") if c.body.get("text") is not None][-1:]
    return reply_text(answer.body)


async def kept_replies(db: Database) -> list[tuple[str, str]]:
    async with db.sessions() as session:
        rows = await session.execute(
            select(ThreadReply.subject_kind, ThreadReply.text).order_by(ThreadReply.id)
        )
        return [(kind, text) for kind, text in rows]


async def test_acknowledged_then_resolved_rewrites_each_message_and_the_thread_is_kept(
    db: Database, tmp_path: Path, team: Team
) -> None:
    async with loop_env(db, tmp_path, cs_channel=f"slack:{CS_CHANNEL}") as env:
        await send_detractor_feedback(env)
        assert await env.deliver() == 2
        dm_channel = f"D{MAYA_SLACK}"
        [channel_post] = env.slack.messages[CS_CHANNEL]
        [dm_post] = env.slack.messages[dm_channel]
        posts = env.slack.of("chat.postMessage")
        channel_call = next(c for c in posts if c.body["channel"] == CS_CHANNEL)

        # Maya acknowledges from the channel's card: that card is replaced at once, and the worker
        # rewrites both messages (the channel's and her DM's) rather than posting anything new.
        ack = button(channel_call.body, "Acknowledge")
        await env.to_slack(
            click(ack, user_id=MAYA_SLACK, response_url=env.slack.response_url("ack"), channel_id=CS_CHANNEL)
        )
        assert await env.deliver() == 3  # two rewrites, and Priya hears in Teams
        updates = env.slack.of("chat.update")
        assert sorted((u.body["channel"], u.body["ts"]) for u in updates) == sorted(
            [(CS_CHANNEL, channel_post["ts"]), (dm_channel, dm_post["ts"])]
        )
        assert all("Acknowledged" in reply_text(u.body) for u in updates)
        assert "Acknowledge" not in [b["text"]["text"] for b in buttons(updates[0].body)]

        # ... then resolves it with a note: the same two messages are rewritten again, without buttons.
        resolve = button(channel_call.body, "Resolve")
        await env.to_slack(
            click(
                resolve,
                user_id=MAYA_SLACK,
                response_url=env.slack.response_url("resolve"),
                channel_id=CS_CHANNEL,
            )
        )
        [modal] = await env.slack.wait_for("views.open")
        view = modal.body["view"]
        await env.to_slack(
            view_submission(
                view, modal_state(view, {"note": "Exports now run overnight"}), user_id=MAYA_SLACK
            )
        )
        assert await env.deliver() == 3
        updates = env.slack.of("chat.update")[2:]
        assert sorted((u.body["channel"], u.body["ts"]) for u in updates) == sorted(
            [(CS_CHANNEL, channel_post["ts"]), (dm_channel, dm_post["ts"])]
        )
        for update in updates:
            assert "Resolved" in reply_text(update.body) and "Exports now run overnight" in reply_text(
                update.body
            )
            assert buttons(update.body) == []
        assert "Resolved" in str(env.slack.messages[CS_CHANNEL][0]["blocks"])
        # One post per place, ever: the state changes were edits, not new messages.
        assert len(env.slack.of("chat.postMessage")) == 2
        assert [m["ts"] for m in env.slack.messages[CS_CHANNEL]] == [channel_post["ts"]]

        # Discussion in the channel's thread is kept on the item's history and the timeline.
        await env.to_slack(
            event(
                thread_reply(
                    "Called them: the fix ships Friday",
                    channel=CS_CHANNEL,
                    root=channel_post["ts"],
                    ts="1764000000.000100",
                )
            )
        )
        # The same message delivered again (Slack retries) is kept once.
        await env.to_slack(
            event(
                thread_reply(
                    "Called them: the fix ships Friday",
                    channel=CS_CHANNEL,
                    root=channel_post["ts"],
                    ts="1764000000.000100",
                )
            )
        )
        # Maya's reply under her DM's copy is the same item's discussion.
        await env.to_slack(
            event(
                thread_reply(
                    "Sent them the workaround too",
                    channel=dm_channel,
                    root=dm_post["ts"],
                    ts="1764000000.000200",
                )
            )
        )
        assert await kept_replies(db) == [
            ("feedback", "Called them: the fix ships Friday"),
            ("feedback", "Sent them the workaround too"),
        ]
        timeline = await timeline_text(env, "timeline")
        assert "Called them: the fix ships Friday" in timeline
        assert "Sent them the workaround too" in timeline
        # Nothing was said in the channel about it: the thread is for people.
        assert len(env.slack.of("chat.postMessage")) == 2


async def test_what_is_not_a_reply_to_a_living_message_is_not_kept(
    db: Database, tmp_path: Path, team: Team
) -> None:
    async with loop_env(db, tmp_path, cs_channel=f"slack:{CS_CHANNEL}") as env:
        await send_detractor_feedback(env)
        assert await env.deliver() == 2
        [channel_post] = env.slack.messages[CS_CHANNEL]
        root = channel_post["ts"]
        # Someone Touchpoint does not know (a guest, another organisation in a shared channel).
        await env.to_slack(
            event(
                thread_reply(
                    "who owns this?", channel=CS_CHANNEL, root=root, ts="1764000001.000001", user="USTRANGER"
                )
            )
        )
        # A question for the bot in the thread: app_mention answers it; it is not discussion.
        await env.to_slack(
            event(
                thread_reply("<@UBOT0001> health acme", channel=CS_CHANNEL, root=root, ts="1764000001.000002")
            )
        )
        # A reply in some other thread of the channel, and the first message of a thread itself.
        await env.to_slack(
            event(
                thread_reply(
                    "unrelated", channel=CS_CHANNEL, root="1764000000.999999", ts="1764000001.000003"
                )
            )
        )
        await env.to_slack(event(thread_reply("top level", channel=CS_CHANNEL, root=root, ts=root)))
        # The same ts in another channel is another message.
        await env.to_slack(
            event(thread_reply("elsewhere", channel="COTHER0001", root=root, ts="1764000001.000004"))
        )
        assert await kept_replies(db) == []
        # A channel's other messages (the app hears them all, for the threads of its posts) are answered
        # at once: nothing is stored, and nobody is looked up.
        async with db.sessions() as session:
            events_before = await session.scalar(select(func.count()).select_from(InboundEvent))
        lookups = len(env.slack.of("users.info"))
        await env.to_slack(
            event(
                {
                    **thread_reply("standup at 10", channel=CS_CHANNEL, root="", ts="1764000001.000009"),
                    "thread_ts": None,
                }
            )
        )
        async with db.sessions() as session:
            assert await session.scalar(select(func.count()).select_from(InboundEvent)) == events_before
        assert len(env.slack.of("users.info")) == lookups


async def test_an_edit_waits_for_the_post_it_rewrites(db: Database, tmp_path: Path, team: Team) -> None:
    async with loop_env(db, tmp_path) as env:
        await send_detractor_feedback(env)
        env.slack.fail_next("chat.postMessage", 500)
        assert await env.deliver() == 0
        # She acknowledges the item before its card reached her (from a list): the rewrite is queued...
        maya = Actor(platform=Platform.SLACK, platform_user_id=MAYA_SLACK, person_id=team.maya, role="csm")
        await transition(db, item_id=1, actor=maya, to_state="acknowledged", note=None, now=env.now)
        # ... and waits, the post not being due again yet; Priya hears in Teams meanwhile.
        assert await env.deliver() == 1
        async with db.sessions() as session:
            edit = (
                await session.scalars(select(OutboxMessage).where(OutboxMessage.edit_of.is_not(None)))
            ).one()
        assert edit.edit_of == f"feedback:1:new:{team.maya}"
        assert (edit.status, edit.last_error, edit.attempts) == (
            "pending",
            "waiting for the post it edits",
            0,
        )
        assert env.slack.of("chat.update") == []

        env.now += timedelta(seconds=60)
        assert await env.deliver() == 2  # the post, then its rewrite
        [post] = env.slack.messages[f"D{MAYA_SLACK}"]
        [update] = env.slack.of("chat.update")
        assert update.body["ts"] == post["ts"] and "Acknowledged" in reply_text(update.body)


async def test_teams_channel_card_is_rewritten_and_its_thread_is_kept(
    db: Database, tmp_path: Path, team: Team
) -> None:
    async with loop_env(db, tmp_path) as env:
        await env.to_teams(bot_added(PRIYA_TEAMS, service_url=env.teams.service_url, place="channel"))
        welcomed = len(env.teams.of("send"))
        await env.to_slack(
            slash_command(
                "feedback acme rockets #bug Saved reports break after every release",
                user_id=MAYA_SLACK,
                response_url=env.slack.response_url("cmd"),
            )
        )
        assert await env.deliver() == 1
        [post] = env.teams.of("send")[welcomed:]
        assert post.conversation_id == CHANNEL_ID
        root = str(post.sent_id)

        # Priya replies in the card's thread without mentioning Touchpoint (the app's resource-specific
        # permission brings it): kept, and nothing is said.
        reply = channel_message(
            "We can reproduce it on 4.1", PRIYA_TEAMS, service_url=env.teams.service_url, mention=False
        )
        reply["conversation"]["id"] = f"{CHANNEL_ID};messageid={root}"
        before = len(env.teams.calls)
        await env.to_teams(reply)
        # A message elsewhere in the channel that does not mention Touchpoint is not for it.
        other = channel_message("lunch?", PRIYA_TEAMS, service_url=env.teams.service_url, mention=False)
        await env.to_teams(other)
        assert [c.kind for c in env.teams.calls[before:] if c.kind in ("send", "reply", "update")] == []
        assert await kept_replies(db) == [("feedback", "We can reproduce it on 4.1")]
        timeline = await timeline_text(env, "timeline")
        assert "We can reproduce it on 4.1" in timeline

        # A mention in the thread is a question, answered there as before.
        question = channel_message("help", PRIYA_TEAMS, service_url=env.teams.service_url)
        question["conversation"]["id"] = f"{CHANNEL_ID};messageid={root}"
        await env.to_teams(question)
        assert env.teams.of("reply")
        assert len(await kept_replies(db)) == 1


async def test_a_health_alert_is_one_message_that_tells_what_happened_next(
    db: Database, tmp_path: Path, team: Team
) -> None:
    async with loop_env(db, tmp_path) as env:
        # Acme Rockets turned red today: Maya's alert goes to her Slack DM.
        await enqueue_health_alerts(db, day=NOW.date(), now=env.now, hours=None)
        await env.deliver()
        dm_channel = f"D{MAYA_SLACK}"
        [alert_call] = [c for c in env.slack.of("chat.postMessage") if "Acme Rockets" in reply_text(c.body)]
        assert alert_call.body["channel"] == dm_channel
        [alert_post] = [m for m in env.slack.messages[dm_channel] if "Acme Rockets" in str(m.get("text"))]

        # She logs a call from the alert's button: the alert says so, in place.
        log_button = button(alert_call.body, "Log follow-up")
        await env.to_slack(
            click(
                log_button,
                user_id=MAYA_SLACK,
                response_url=env.slack.response_url("log"),
                channel_id=dm_channel,
            )
        )
        [modal] = await env.slack.wait_for("views.open")
        view = modal.body["view"]
        values = {
            "kind": "call",
            "summary": "Walked the CFO through the adoption plan",
            "next_step": "",
            "due_date": "",
        }
        await env.to_slack(view_submission(view, modal_state(view, values), user_id=MAYA_SLACK))
        assert await env.deliver() == 1
        [logged] = env.slack.of("chat.update")
        assert (logged.body["channel"], logged.body["ts"]) == (dm_channel, alert_post["ts"])
        assert (
            "Maya Chen logged a call on Wed 25 Nov 2026: Walked the CFO through the adoption plan"
            in reply_text(logged.body)
        )
        assert [b["text"]["text"] for b in buttons(logged.body)] == ["Open account", "Log follow-up"]

        # A reply in the alert's thread is kept on the account's timeline, under health.
        await env.to_slack(
            event(
                thread_reply(
                    "CFO wants a QBR before renewal",
                    channel=dm_channel,
                    root=alert_post["ts"],
                    ts="1764000002.000001",
                )
            )
        )
        assert await kept_replies(db) == [("alert", "CFO wants a QBR before renewal")]
        await env.to_slack(
            slash_command(
                "timeline ACME-001 health", user_id=MAYA_SLACK, response_url=env.slack.response_url("tl")
            )
        )
        assert "CFO wants a QBR before renewal" in reply_text(env.slack.of("response_url")[-1].body)

        # The next day Acme is yellow again: the same message says it recovered, and only
        # "Open account" is left; a second run changes nothing.
        tomorrow = NOW.date() + timedelta(days=1)
        await add_snapshot(db, team.acme_rockets, tomorrow, 62)
        env.now += timedelta(days=1)
        posted = len(env.slack.of("chat.postMessage"))
        assert await note_recoveries(db, day=tomorrow, now=env.now) == 1
        assert await note_recoveries(db, day=tomorrow, now=env.now) == 0
        assert await env.deliver() == 1
        recovered = env.slack.of("chat.update")[-1]
        assert recovered.body["ts"] == alert_post["ts"]
        text = reply_text(recovered.body)
        assert "Out of red on Thu 26 Nov 2026: yellow, health 62." in text
        assert "Maya Chen logged a call" in text  # what was written before stays
        assert [b["text"]["text"] for b in buttons(recovered.body)] == ["Open account"]
        assert len(env.slack.of("chat.postMessage")) == posted
