"""The ``touchpoint`` command line: the composition root a person runs (``serve``, ``console``,
imports, health, digests, the outbox, tokens). It only wires the layers below; each command imports
what it needs inside its body, so start-up stays cheap. The entry point is ``adapters.cli.main:app``.
"""
