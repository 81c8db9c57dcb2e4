"""Kill the function process of the local Lambda service at a chosen moment, for crash tests.

The local Lambda service (lambda_runtime_server.py) reports the pid of the bootstrap it runs in
GET /_test/stats ("childPid"). Whoever holds the function's request at that moment (the local
Secrets Manager answering a call, a database proxy relaying a statement) can kill it there: the
function is blocked waiting for that answer, so it cannot do anything else first. SIGKILL and
SIGSTOP are delivered asynchronously, so both calls here wait until /proc shows the process dead
(or a zombie) or stopped. Python standard library only.
"""

from __future__ import annotations

import json
import os
import signal
import time
import urllib.request

WAIT_SECONDS = 30


class KillError(Exception):
    """The function process could not be found, stopped or killed."""


def function_pid(lambda_url: str) -> int:
    """The pid of the function process the local Lambda service at `lambda_url` runs now."""
    try:
        with urllib.request.urlopen(lambda_url.rstrip("/") + "/_test/stats", timeout=10) as answer:
            pid = json.loads(answer.read()).get("childPid")
    except (OSError, ValueError) as exc:
        raise KillError(f"cannot read {lambda_url}/_test/stats: {exc}") from None
    if not isinstance(pid, int) or pid <= 0:
        raise KillError("the local Lambda service runs no function process now")
    return pid


def process_state(pid: int) -> str | None:
    """The state letter of /proc/PID/stat (R, S, T, Z, ...), or None if there is no process."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return None
    # The command name is in parentheses and may hold spaces; the state follows the last ')'.
    return stat[stat.rindex(b")") + 2:][:1].decode("ascii", "replace")


def _wait_for(pid: int, states: tuple[str | None, ...], what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while process_state(pid) not in states:
        if time.monotonic() > deadline:
            raise KillError(f"process {pid} was not {what} within {WAIT_SECONDS} s "
                            f"(state {process_state(pid)})")
        time.sleep(0.001)


def stop(pid: int) -> None:
    """SIGSTOP `pid` and wait until it is stopped (or gone)."""
    try:
        os.kill(pid, signal.SIGSTOP)
    except ProcessLookupError:
        return
    _wait_for(pid, ("T", "t", "Z", "X", None), "stopped")


def kill(pid: int) -> None:
    """SIGKILL `pid` and wait until it is dead (a zombie its parent has not reaped yet counts)."""
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    _wait_for(pid, ("Z", "X", None), "dead")
