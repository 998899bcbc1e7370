"""Segment: Spec calls received on ``POST /api/v1/segment``, stored and counted into usage metrics."""
