"""Prometheus metrics: what the web server exposes at /metrics.

Each :class:`Metrics` owns its own registry, so two apps (or two tests) in one process never share
counts. The bot observes commands, the delivery worker counts sends, the scheduler counts job runs;
the outbox gauges are refreshed from the database when /metrics is scraped.
"""

from __future__ import annotations

from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from storage.outbox import OutboxStats

CONTENT_TYPE = CONTENT_TYPE_LATEST
UNKNOWN = "unknown"
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


def status_class(status: int) -> str:
    """``2xx``, ``4xx`` ...: the outcome label of an HTTP request."""
    return f"{status // 100}xx"


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.http_requests = Counter(
            "touchpoint_http_requests",
            "HTTP requests served, by route and outcome (status class).",
            ["route", "outcome"],
            registry=self.registry,
        )
        self.command_seconds = Histogram(
            "touchpoint_command_seconds",
            "Time the bot took to handle a command or button, by name and outcome.",
            ["kind", "name", "outcome"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.deliveries = Counter(
            "touchpoint_deliveries",
            "Outbox send attempts by platform and result (sent, retry, dead; found: already on the "
            "platform after a crash; lease_lost: taken over by another replica).",
            ["platform", "result"],
            registry=self.registry,
        )
        self.job_runs = Counter(
            "touchpoint_scheduler_job_runs",
            "Scheduler job runs by job and outcome (ok, failed).",
            ["job", "outcome"],
            registry=self.registry,
        )
        self.job_misses = Counter(
            "touchpoint_scheduler_job_misses",
            "Scheduler runs skipped because they were too late (past their grace time).",
            ["job"],
            registry=self.registry,
        )
        self.outbox_messages = Gauge(
            "touchpoint_outbox_messages",
            "Outbox rows by state (pending, due, dead), as of the last scrape.",
            ["state"],
            registry=self.registry,
        )
        self.outbox_oldest_due_age = Gauge(
            "touchpoint_outbox_oldest_due_age_seconds",
            "How long the oldest due outbox row has been waiting (0 when none is due).",
            registry=self.registry,
        )
        self.outbox_stats_up = Gauge(
            "touchpoint_outbox_stats_up",
            "1 when the outbox gauges could be read at the last scrape, else 0.",
            registry=self.registry,
        )

    def observe_command(self, *, kind: str, name: str, outcome: str, seconds: float) -> None:
        self.command_seconds.labels(kind=kind, name=name or UNKNOWN, outcome=outcome).observe(seconds)

    def delivery(self, *, platform: str, result: str) -> None:
        self.deliveries.labels(platform=platform, result=result).inc()

    def job_run(self, *, job: str, outcome: str) -> None:
        self.job_runs.labels(job=job, outcome=outcome).inc()

    def job_missed(self, *, job: str) -> None:
        self.job_misses.labels(job=job).inc()

    def set_outbox(self, stats: OutboxStats | None, *, now: datetime) -> None:
        """Record the outbox as read at scrape time; None when it could not be read."""
        if stats is None:
            self.outbox_stats_up.set(0)
            return
        self.outbox_stats_up.set(1)
        self.outbox_messages.labels(state="pending").set(stats.pending)
        self.outbox_messages.labels(state="due").set(stats.due)
        self.outbox_messages.labels(state="dead").set(stats.dead)
        oldest = stats.oldest_due_at
        if oldest is not None and oldest.tzinfo is None:  # SQLite hands datetimes back naive (UTC)
            oldest = oldest.replace(tzinfo=now.tzinfo)
        age = (now - oldest).total_seconds() if oldest is not None else 0.0
        self.outbox_oldest_due_age.set(max(age, 0.0))

    def render(self) -> bytes:
        return generate_latest(self.registry)
