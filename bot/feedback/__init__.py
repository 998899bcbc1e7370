"""The feedback loop between CX and CS: where an item goes (``routing``), storing and changing items
(``items``), how they read (``messages``), the ``[feedback]`` settings (``config``), the tone of a
comment (``sentiment``), recurring themes across accounts (``themes``) and items made from detractor
survey answers (``surveys``). Escalation and theme detection run on a schedule in
:mod:`scheduler.feedback_jobs`.
"""
