"""change marks: triggers note every change to what an account card shows

Revision ID: 0009c
Revises: 0009b
Create Date: 2026-12-04

Every insert, update and delete of a row that an account card reads writes a change mark (see
``storage/changes.py``), whatever wrote it: chat, imports, the ingest API, the recompute, a connector
or plain SQL. Caches of cards, of the name index and of the time-to-value medians read the marks to
know whether what they hold is still current, on every replica.

The triggers are written out here rather than generated from the models: a migration must keep doing
what it did when later code changes. A later migration that rebuilds one of these tables on SQLite
(``batch_alter_table`` copies the table without its triggers) must create them again:
``tests/test_change_marks.py`` checks that every one of them exists at head.
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from alembic import op

revision = "0009c"
down_revision = "0009b"
branch_labels = None
depends_on = None

# Tables holding rows of one account: a change to one of them is a change to that account's card.
ACCOUNT_ROWS = (
    "health_snapshot",
    "usage_metric",
    "survey_response",
    "milestone",
    "follow_up",
    "outcome",
    "arr_change",
    "feedback_item",
)
ALL_TABLES = (*ACCOUNT_ROWS, "account", "person")

# A bump: (topic, account id expression, condition or None), with NEW/OLD standing for the row.
Bump = tuple[str, str, str | None]


def _bumps(table: str, event: str) -> list[Bump]:
    """What a row event of ``table`` marks. ``event`` is INSERT, UPDATE or DELETE; conditions are
    written in SQLite's dialect (``IS NOT`` is null-safe) and translated for PostgreSQL."""
    rows = {"INSERT": ["NEW"], "UPDATE": ["NEW", "OLD"], "DELETE": ["OLD"]}[event]
    if table == "person":
        # Owner and author names are on cards of any account.
        return [("all", "0", "OLD.name IS NOT NEW.name")] if event == "UPDATE" else []
    if table == "account":
        row = rows[0]
        bumps: list[Bump] = [("account", f"{row}.id", None)]
        if event == "UPDATE":
            names = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in ("name", "name_key", "external_id"))
            # What time-to-value medians are worked out from, for every account's card.
            ttv = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in ("segment", "contract_start", "lifecycle_stage"))
            bumps += [("names", "0", names), ("all", "0", ttv)]
        else:
            bumps += [("names", "0", None)]
        return bumps
    bumps = []
    for row in rows:
        moved = "OLD.account_id IS NOT NEW.account_id" if event == "UPDATE" and row == "OLD" else None
        bumps.append(("account", f"{row}.account_id", moved))
    if table == "milestone":
        # A first-value milestone reached (or no longer) moves the time-to-value medians of every card.
        first_value = " OR ".join(f"{row}.kind = 'first_value'" for row in rows)
        if event == "UPDATE":
            changed = " OR ".join(
                f"OLD.{c} IS NOT NEW.{c}" for c in ("completed_at", "kind", "account_id")
            )
            bumps.append(("all", "0", f"({first_value}) AND ({changed})"))
        else:
            bumps.append(("all", "0", f"{rows[0]}.kind = 'first_value' AND {rows[0]}.completed_at IS NOT NULL"))
    return bumps


# ------------------------------------------------------------------------------------------ SQLite


def _test(account: str, condition: str | None) -> str:
    """When a bump applies: the row has an account (``account`` is a column, not the literal 0 of a
    topic of every account) and ``condition`` holds."""
    tests = [] if account == "0" else [f"{account} IS NOT NULL"]
    tests += [f"({condition})"] if condition else []
    return " AND ".join(tests) or "1 = 1"


def _sqlite_bump(topic: str, account: str, condition: str | None) -> str:
    """One counter per topic and account, made when first needed (SQLite has one writer at a time)."""
    where = _test(account, condition)
    row = f"topic = '{topic}' AND account_id = {account}"
    return (
        f"INSERT INTO change_mark (topic, account_id, mark) SELECT '{topic}', {account}, 0 "
        f"WHERE {where} AND NOT EXISTS (SELECT 1 FROM change_mark WHERE {row});\n"
        f"UPDATE change_mark SET mark = mark + 1 WHERE {row} AND {where};"
    )


def _sqlite_triggers() -> list[str]:
    statements = []
    for table in ALL_TABLES:
        for event in ("INSERT", "UPDATE", "DELETE"):
            bumps = _bumps(table, event)
            if bumps:
                body = "\n".join(_sqlite_bump(*bump) for bump in bumps)
                statements.append(
                    f"CREATE TRIGGER tp_mark_{table}_{event.lower()} AFTER {event} ON {table} "
                    f"FOR EACH ROW BEGIN\n{body}\nEND"
                )
    return statements


# -------------------------------------------------------------------------------------- PostgreSQL


def _pg_bump(topic: str, account: str, condition: str | None) -> str:
    """One row per transaction, topic and account: writers never wait for each other's marks."""
    test = re.sub(r" IS NOT (NEW|OLD)\.", r" IS DISTINCT FROM \1.", _test(account, condition))
    return (
        f"    IF {test} THEN\n"
        "      INSERT INTO change_mark (topic, account_id, mark, at)\n"
        f"      VALUES ('{topic}', {account}, pg_current_xact_id()::text::bigint, clock_timestamp())\n"
        "      ON CONFLICT DO NOTHING;\n"
        "    END IF;"
    )


def _pg_triggers() -> list[str]:
    statements = []
    for table in ALL_TABLES:
        branches = []
        for event in ("INSERT", "UPDATE", "DELETE"):
            bumps = _bumps(table, event)
            if bumps:
                body = "\n".join(_pg_bump(*bump) for bump in bumps)
                branches.append(f"  IF TG_OP = '{event}' THEN\n{body}\n  END IF;")
        events = " OR ".join(e for e in ("INSERT", "UPDATE", "DELETE") if _bumps(table, e))
        statements.append(
            f"CREATE FUNCTION tp_mark_{table}() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n"
            + "\n".join(branches)
            + "\n  RETURN NULL;\nEND\n$$"
        )
        statements.append(
            f"CREATE TRIGGER tp_mark_{table} AFTER {events} ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION tp_mark_{table}()"
        )
    return statements


# ------------------------------------------------------------------------------------------ running


def upgrade() -> None:
    op.create_table(
        "change_mark",
        sa.Column("topic", sa.String(length=8), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("mark", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("topic", "account_id", "mark", name=op.f("pk_change_mark")),
    )
    postgresql = op.get_bind().dialect.name == "postgresql"
    for statement in _pg_triggers() if postgresql else _sqlite_triggers():
        op.execute(statement)


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table in ALL_TABLES:
        if postgresql:
            op.execute(f"DROP TRIGGER IF EXISTS tp_mark_{table} ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS tp_mark_{table}()")
        else:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS tp_mark_{table}_{event}")
    op.drop_table("change_mark")
