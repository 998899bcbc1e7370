"""Running the checks: all of them for ``touchpoint check`` (a row each), or the ones that stop
``touchpoint serve`` before it listens.

At start-up a problem a person must fix (a bad setting, a refused token or secret, a database that
cannot be reached) stops the server with one line. Slack or Microsoft merely not answering is logged as
a warning and the server starts anyway: the delivery worker retries, and a replica that refused to
start whenever Slack had a bad minute would turn their outage into ours.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from adapters.checks.config import config_problem, config_summary
from adapters.checks.database import SETTING as DATABASE_SETTING
from adapters.checks.database import (
    migrations_problem,
    new_sqlite_file,
    newer_schema_problem,
    ping,
    sqlite_file_problem,
    where,
)
from adapters.checks.port import port_problem
from adapters.checks.problem import SetupProblem, one_line
from bot.log import get_logger
from bot.settings import Settings
from storage.db import Database

log = get_logger("touchpoint.checks")


class Status(enum.StrEnum):
    OK = "ok"
    PROBLEM = "problem"
    OFF = "off"  # not configured, nothing to check
    SKIPPED = "skipped"  # an earlier check failed


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    status: Status
    detail: str

    @property
    def failed(self) -> bool:
        return self.status is Status.PROBLEM


Probe = Callable[[Settings], Awaitable[str]]


async def run_checks(settings: Settings) -> list[Check]:
    """Every check for ``touchpoint check``, in order; a failed database skips the migrations."""
    checks = [_config_check(settings)]
    new_file = new_sqlite_file(settings.database_url)
    if new_file is not None:  # connecting would create it: say what will happen instead
        problem = sqlite_file_problem(settings.database_url)
        checks += (
            [
                Check("database", Status.PROBLEM, f"{DATABASE_SETTING}: {problem}"),
                Check("migrations", Status.SKIPPED, "the database cannot be created"),
            ]
            if problem
            else [
                Check("database", Status.OK, f"{new_file} will be created when touchpoint starts"),
                Check("migrations", Status.OK, "applied when the file is created"),
            ]
        )
        return [*checks, *await _platforms(settings)]
    db = Database(settings.database_url)
    try:
        try:
            await ping(db)
        except SetupProblem as problem:
            checks.append(Check("database", Status.PROBLEM, problem.line))
            checks.append(Check("migrations", Status.SKIPPED, "the database cannot be reached"))
        else:
            checks.append(Check("database", Status.OK, f"{db.engine.dialect.name} at {where(db.url)}"))
            migrations = await migrations_problem(db)
            checks.append(
                Check("migrations", Status.PROBLEM, f"{DATABASE_SETTING}: {migrations}")
                if migrations
                else Check("migrations", Status.OK, "at the latest revision")
            )
    finally:
        await db.dispose()
    return [*checks, *await _platforms(settings)]


async def _platforms(settings: Settings) -> list[Check]:
    """Slack and Teams, asked at the same time (each may wait for its timeout)."""
    return list(
        await asyncio.gather(
            _platform_check("slack", settings, _slack_probe(settings)),
            _platform_check("teams", settings, _teams_probe(settings)),
        )
    )


def _config_check(settings: Settings) -> Check:
    problem = config_problem(settings)
    if problem is not None:
        return Check("config file", Status.PROBLEM, one_line(problem))
    return Check("config file", Status.OK, config_summary(settings))


def _slack_probe(settings: Settings) -> Probe | None:
    from adapters.slack.check import check_slack, slack_configured

    return check_slack if slack_configured(settings) else None


def _teams_probe(settings: Settings) -> Probe | None:
    if not settings.teams_configured:
        return None
    from adapters.teams.check import check_teams  # loads the Bot Framework SDK: only when needed

    return check_teams


async def _platform_check(name: str, settings: Settings, probe: Probe | None) -> Check:
    if probe is None:
        return Check(name, Status.OFF, "not configured")
    try:
        return Check(name, Status.OK, await probe(settings))
    except (ValueError, PermissionError, ConnectionError) as error:
        return Check(name, Status.PROBLEM, one_line(str(error)))


async def startup_checks(settings: Settings, *, host: str, port: int) -> None:
    """What ``touchpoint serve`` checks before it starts anything: :class:`SetupProblem` for the first
    problem a person must fix (see the module's doc)."""
    problem = config_problem(settings) or port_problem(host, port)
    if problem is not None:
        raise SetupProblem(problem)
    db = Database(settings.database_url)
    try:
        await ping(db)
        newer = await newer_schema_problem(db)  # anything older, serve migrates
        if newer is not None:
            raise SetupProblem(f"{DATABASE_SETTING}: {newer}")
    finally:
        await db.dispose()
    probes = [(name, probe) for name, probe in _named_probes(settings) if probe is not None]
    answers = await asyncio.gather(*(probe(settings) for _, probe in probes), return_exceptions=True)
    for (name, _probe), answer in zip(probes, answers, strict=True):
        if isinstance(answer, ValueError | PermissionError):
            raise SetupProblem(str(answer))
        if isinstance(answer, ConnectionError):
            log.warning(f"{name}_not_checked", problem=one_line(str(answer)))
        elif isinstance(answer, BaseException):
            raise answer
        else:
            log.info(f"{name}_checked", found=answer)


def _named_probes(settings: Settings) -> list[tuple[str, Probe | None]]:
    return [("slack", _slack_probe(settings)), ("teams", _teams_probe(settings))]
