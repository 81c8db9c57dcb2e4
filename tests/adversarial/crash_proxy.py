"""A TCP proxy between the function and a database that counts SQL statements and kills the
function at a chosen one: before forwarding statement N, or after relaying the server's answer to
it. For the crash matrix (crash_matrix.py).

It reads the protocol (wire.py): MySQL COM_QUERY packets, PostgreSQL simple Query and extended
Parse...Sync, each answered up to its end (the last packet of a result, ReadyForQuery). TLS would
hide the statements, so the function must connect without it (DB_TLS_MODE=disable); a connection
that starts TLS is reported as an error, as is any command the proxy cannot follow.

"After" is exact: the function is blocked reading the answer, so the proxy stops it (SIGSTOP),
hands it the answer, and kills it (SIGKILL): it never acts on the answer. "Before": the function
is killed while it waits, and the statement never reaches the server.

Python standard library only; one thread per connection.
"""

from __future__ import annotations

import dataclasses
import re
import select
import socket
import threading
from typing import Callable

import wire

PASSWORD_STATEMENT = re.compile(rb"\b(PASSWORD|IDENTIFIED)\b", re.IGNORECASE)
IDLE_SECONDS = 120


def first_word(sql: bytes) -> str:
    """The statement's first keyword (SELECT, SET, ...): enough to name it, never a value."""
    match = re.match(rb"\s*([A-Za-z]+)", sql)
    return match.group(1).decode().upper() if match else "?"


@dataclasses.dataclass
class KillStatus:
    """What happened since the plan was armed."""

    statements: int = 0  # statements seen (and forwarded, unless killed before)
    fired: bool = False
    password_statement_forwarded: bool = False  # a statement that sets a password reached the DB
    verbs: list[str] = dataclasses.field(default_factory=list)  # each statement's first word
    errors: list[str] = dataclasses.field(default_factory=list)


class KillPlan:
    """Which statement to kill at, shared by all connections of one proxy (thread-safe).

    Statements are numbered from 1 across every connection since arm(); when no plan is armed the
    proxy only relays (and still reports errors).
    """

    def __init__(self, stop: Callable[[], int], kill: Callable[[int], None]):
        # stop() stops the function process and returns its pid; kill(pid) kills it.
        self._stop, self._kill = stop, kill
        self._lock = threading.Lock()
        self._target: tuple[int, str] | None = None
        self._armed = False
        self._numbers: dict[tuple[int, int], int] = {}
        self.status = KillStatus()

    def arm(self, statement: int | None, when: str = "before") -> None:
        """Count from now; kill at `statement` ("before" or "after"), or never if None."""
        if when not in ("before", "after"):
            raise ValueError(when)
        with self._lock:
            self._target = (statement, when) if statement is not None else None
            self._armed = True
            self._numbers.clear()
            self.status = KillStatus()

    def disarm(self) -> KillStatus:
        with self._lock:
            self._armed = False
            self._target = None
            return dataclasses.replace(self.status, errors=list(self.status.errors),
                                       verbs=list(self.status.verbs))

    def error(self, message: str) -> None:
        with self._lock:
            self.status.errors.append(message)

    def decide(self, connection: int, event: wire.Event) -> str:
        """"forward", "kill-before" or "kill-after" for one parsed message."""
        with self._lock:
            if not self._armed:
                return "forward"
            if event.kind == "statement":
                self.status.statements += 1
                number = self.status.statements
                self.status.verbs.append(first_word(event.sql))
                self._numbers[(connection, event.statement)] = number
                if self._target == (number, "before"):
                    self.status.fired = True
                    self._target = None
                    return "kill-before"
                if PASSWORD_STATEMENT.search(event.sql):
                    self.status.password_statement_forwarded = True
            elif event.kind == "answered":
                number = self._numbers.get((connection, event.statement))
                if number is not None and self._target == (number, "after"):
                    self.status.fired = True
                    self._target = None
                    return "kill-after"
            return "forward"

    def stop_function(self) -> int | None:
        try:
            return self._stop()
        except Exception as exc:  # noqa: BLE001 (reported, the point then fails)
            self.error(f"could not stop the function: {exc}")
            return None

    def kill_function(self, pid: int | None) -> None:
        if pid is None:
            return
        try:
            self._kill(pid)
        except Exception as exc:  # noqa: BLE001
            self.error(f"could not kill the function: {exc}")


class StatementKillProxy:
    """Listens on 127.0.0.1 (ephemeral port) and relays each connection to `upstream`."""

    def __init__(self, engine: str, upstream: tuple[str, int], plan: KillPlan):
        self.engine = engine
        self.upstream = upstream
        self.plan = plan
        self._lock = threading.Lock()
        self._connections = 0
        self._listener = wire.LoopbackListener(self._serve)
        self.port = self._listener.port

    def close(self) -> None:
        self._listener.close()

    def _serve(self, client: socket.socket) -> None:
        with self._lock:
            self._connections += 1
            number = self._connections
        try:
            server = socket.create_connection(self.upstream, timeout=30)
        except OSError as exc:
            self.plan.error(f"connection {number}: cannot reach the database: {exc}")
            client.close()
            return
        for sock in (client, server):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            self._relay(client, server, number)
        except (OSError, wire.ProtocolError) as exc:
            self.plan.error(f"connection {number}: {type(exc).__name__}: {exc}")
        finally:
            client.close()
            server.close()

    def _relay(self, client: socket.socket, server: socket.socket, number: int) -> None:
        parser = wire.conversation(self.engine)
        reported_tls = False
        while True:
            readable, _, _ = select.select([client, server], [], [], IDLE_SECONDS)
            if not readable:
                self.plan.error(f"connection {number}: idle for {IDLE_SECONDS} s")
                return
            for source in readable:
                data = source.recv(65536)
                if not data:
                    return
                from_client = source is client
                target = server if from_client else client
                events = parser.feed_client(data) if from_client else parser.feed_server(data)
                for event in events:
                    if event.kind == "tls" and not reported_tls:
                        reported_tls = True
                        self.plan.error(f"connection {number} uses TLS: its statements cannot be "
                                        "counted (run with DB_TLS_MODE=disable)")
                    elif event.kind == "unsupported":
                        self.plan.error(f"connection {number}: {event.detail} is not followed")
                    action = self.plan.decide(number, event)
                    if action == "kill-before":
                        self.plan.kill_function(self.plan.stop_function())
                        return
                    if action == "kill-after":
                        pid = self.plan.stop_function()
                        target.sendall(event.raw)
                        self.plan.kill_function(pid)
                        return
                    target.sendall(event.raw)
