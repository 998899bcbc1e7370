"""Scheduled work: daily health recompute, digests, reminders and alerts (APScheduler jobs)."""
