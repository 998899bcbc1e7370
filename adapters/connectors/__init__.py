"""Connectors to outside systems (CRMs, help desks, product events): one folder per system; each reads and
writes through storage, and the scheduler runs them through jobs the composition root registers.

Shared by every connector: ``errors`` (what a refusal says to a person), ``http`` (JSON over HTTP with
retries and a rate-limit hook), ``config`` (the ``[connectors.*]`` tables), ``runs`` (one sync at a time,
reported), ``setup`` (which connectors this install has), ``jobs`` (the scheduled syncs) and ``schema``
(``touchpoint connect``).
"""
