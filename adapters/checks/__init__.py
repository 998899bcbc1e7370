"""What ``touchpoint check`` and ``touchpoint serve`` verify before anything runs: the settings, the
configuration file, the port, the database and its migrations, and the Slack and Teams credentials.

Every problem is one line naming the setting (or file and key) and the fix (:class:`SetupProblem`);
the CLI prints it and exits non-zero, without a traceback.
"""

from adapters.checks.problem import SetupProblem, describe

__all__ = ["SetupProblem", "describe"]
