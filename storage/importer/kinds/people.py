"""``people``: CSMs, CS managers, CX staff and admins, keyed by email.

A manager may be defined anywhere in the same file, even further down, so manager links are checked
once the whole file was seen and written after every person exists.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Self

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.importer import fields as f
from storage.importer.base import ImportOptions, Kind, Record
from storage.importer.errors import ConcurrentChangeError, FieldProblem
from storage.importer.write import Tally, table_of, upsert_rows
from storage.models import Person, Role
from storage.types import utcnow

TABLE = table_of(Person)
KEY = ("email",)
UPDATABLE = ("name", "role", "timezone", "slack_user_id", "teams_user_id")


class PeopleKind(Kind):
    name = "people"
    required = ("email", "name", "role")
    optional = ("manager_email", "timezone", "slack_user_id", "teams_user_id")

    def __init__(
        self,
        fields: tuple[f.Field, ...],
        *,
        default_timezone: str,
        known_emails: set[str],
        chat_ids: dict[str, dict[str, str]],
    ) -> None:
        super().__init__(fields)
        self.default_timezone = default_timezone
        self.known_emails = known_emails
        # column -> chat user id -> email of the person holding it in the database
        self.chat_ids = chat_ids
        self.file_emails: set[str] = set()
        self.pending_managers: list[tuple[int, str]] = []
        self.manager_links: dict[str, str | None] = {}
        self.touched: set[str] = set()

    @classmethod
    async def load(cls, session: AsyncSession, options: ImportOptions) -> Self:
        rows = await session.execute(select(Person.email, Person.slack_user_id, Person.teams_user_id))
        known: set[str] = set()
        chat_ids: dict[str, dict[str, str]] = {"slack_user_id": {}, "teams_user_id": {}}
        for email, slack, teams in rows:
            known.add(email.lower())
            if slack:
                chat_ids["slack_user_id"][slack] = email.lower()
            if teams:
                chat_ids["teams_user_id"][teams] = email.lower()
        default_tz = options.default_timezone
        roles = [r.value for r in Role]
        fields = (
            f.Field("email", f.email),
            f.Field("name", f.text(200)),
            f.Field("role", f.choice(roles, "role")),
            f.Field("manager_email", f.email, required=False),
            f.Field("timezone", f.timezone, required=False, default=default_tz),
            f.Field("slack_user_id", f.text(64), required=False),
            f.Field("teams_user_id", f.text(200), required=False),
        )
        return cls(fields, default_timezone=default_tz, known_emails=known, chat_ids=chat_ids)

    def complete(self, values: Record) -> Record | list[FieldProblem]:
        problems: list[FieldProblem] = []
        if values.get("manager_email") == values["email"]:
            problems.append(("manager_email", "a person cannot be their own manager"))
        for column, holders in self.chat_ids.items():
            chat_id = values.get(column)
            holder = holders.get(chat_id) if chat_id else None
            if holder is not None and holder != values["email"]:
                problems.append((column, f"{f.shown(chat_id)} already belongs to {holder}"))
        return problems or values

    def keys(self, record: Record) -> list[tuple[str, str]]:
        keys = [("email", record["email"])]
        for column in ("slack_user_id", "teams_user_id"):
            if record.get(column):
                keys.append((column, record[column]))
        return keys

    def check_file(self, line: int, record: Record) -> list[FieldProblem]:
        self.file_emails.add(record["email"])
        manager = record.get("manager_email")
        if manager and manager not in self.known_emails:
            self.pending_managers.append((line, manager))
        return []

    def check_end(self) -> list[tuple[int, str, str]]:
        return [
            (line, "manager_email", f"no person with email {f.shown(manager)} in the database or this file")
            for line, manager in self.pending_managers
            if manager not in self.file_emails
        ]

    async def write(self, session: AsyncSession, records: Sequence[Record], present: frozenset[str]) -> Tally:
        rows = []
        for record in records:
            row = {k: v for k, v in record.items() if k != "manager_email"}
            # New people get the default zone; existing ones keep theirs unless the file has the column.
            row.setdefault("timezone", self.default_timezone)
            rows.append(row)
            if "manager_email" in present:
                self.manager_links[record["email"]] = record.get("manager_email")
        columns = [c for c in UPDATABLE if c in present]
        tally, touched = await upsert_rows(
            session, TABLE, rows, key=KEY, update=columns, returning=("email",)
        )
        self.touched.update(email for (email,) in touched)
        return tally

    async def finish_write(self, session: AsyncSession) -> Tally:
        """Point people at their managers, now that every person of the file exists."""
        if not self.manager_links:
            return Tally()
        rows = await session.execute(select(Person.email, Person.id, Person.manager_id))
        current = {email: (person_id, manager_id) for email, person_id, manager_id in rows}
        changes = []
        for email, manager in self.manager_links.items():
            if manager and manager not in current:
                raise ConcurrentChangeError(f"manager {manager} was deleted during the import")
            target = current[manager][0] if manager else None
            if current[email][1] != target:
                changes.append({"b_email": email, "b_manager_id": target})
        if changes:
            statement = (
                update(TABLE)
                .where(TABLE.c.email == bindparam("b_email"))
                .values(manager_id=bindparam("b_manager_id"), updated_at=utcnow())
            )
            await session.execute(statement, changes)
        return Tally(changed=len({c["b_email"] for c in changes} - self.touched))
