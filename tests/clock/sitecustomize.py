"""Moves the wall clock of a Python subprocess the tests start (the ``touchpoint`` CLI) by the same offset
as the test run's own, when the suite runs with ``--clock`` (see ``tests/conftest.py``). Python imports
this module at start-up because the tests put this folder on the subprocess's PYTHONPATH."""

import os
import time

_offset = os.environ.get("TESTS_CLOCK_OFFSET")
if _offset:
    import time_machine

    time_machine.travel(time.time() + float(_offset), tick=True).start()
