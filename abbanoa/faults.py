"""Fault injection for the fault suite (tests/faults, bench/faults): `stage(name)` marks a
named point of a job; when FAULT_KILL_AT names it, the process kills itself with SIGKILL
there, as an outside `kill -9` would. FAULT_KILL_AT is refused in production."""

from __future__ import annotations

import os
import signal
import sys

from abbanoa.settings import get_settings


def stage(name: str) -> None:
    """A named point of a job (e.g. `realtime_sync:after_upsert`): killed here when asked."""
    wanted = get_settings().fault_kill_at
    if wanted and name in wanted:
        sys.stdout.flush()
        sys.stderr.flush()
        os.kill(os.getpid(), signal.SIGKILL)
