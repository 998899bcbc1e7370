"""Zendesk Support: organizations, tickets (the incremental export) and satisfaction ratings."""
