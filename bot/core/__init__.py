"""The conversation core: the :class:`~bot.core.dispatch.Bot` every adapter calls, what a handler can
reach (:mod:`~bot.core.context`), where handlers register (:mod:`~bot.core.registry`), the command
grammar, who may see what (identity, permissions), the forgiving account look-up, paging, and the list
lines and item buttons that handlers and digests share (:mod:`~bot.core.lines`).
"""
