"""Touchpoint's platform-neutral core: settings, health engine, command grammar and dispatch."""

__version__ = "0.1.0"
