#!/usr/bin/env python3
"""A local Lambda service for one function: the Invoke API plus the Runtime API that drives the
real `bootstrap` executable as a child process.

The child is started lazily at the first invocation (and again after it exits, crashes, times out
or reports an init error). It is one execution environment: invocations run one at a time, in
arrival order. Listens on 127.0.0.1 only.

Usage: python3 local/lambda_runtime_server.py --bootstrap PATH [--port 0] [--port-file FILE]
       [--function-name rotator] [--region us-east-1] [--account 123456789012] [--timeout 30]
       [--memory 128] [--child-log FILE] [--clean-env] [--env KEY=VALUE]... [--cwd DIR]
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import secrets
import select
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from secretsmanager_server import serve  # noqa: E402  (sibling module: same conventions)

RUNTIME_PREFIX = "/2018-06-01/runtime/"
INVOKE_PREFIX = "/2015-03-31/functions/"


@dataclass
class Settings:
    """The function's configuration (from the command line)."""

    bootstrap: str
    function_name: str
    region: str
    account: str
    timeout: float
    memory: int
    child_log: str | None
    clean_env: bool
    env: dict[str, str]
    cwd: str
    deadline_header: str | None = None

    @property
    def function_arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{self.account}:function:{self.function_name}"


class Invocation:
    """One queued or running invocation and, once `done`, its outcome."""

    def __init__(self, event: bytes):
        self.request_id = str(uuid.uuid4())
        self.event = event
        self.dispatched = False
        self.deadline = 0.0  # time.monotonic() deadline, once dispatched
        self.done = False
        self.ok = False
        self.body = b""
        self.error_type: str | None = None
        self.started = 0.0  # time.monotonic() when its turn came

    def succeed(self, body: bytes) -> None:
        self.done, self.ok, self.body = True, True, body

    def fail(self, error_type: str, message: str, body: bytes | None = None) -> None:
        """Finish as a function error; `body` (the runtime's own error JSON) wins if given."""
        self.done, self.ok, self.error_type = True, False, error_type
        self.body = body or json.dumps({"errorMessage": message, "errorType": error_type}).encode()


def error_document(body: bytes, header_type: str | None, default_type: str) -> tuple[str, bytes]:
    """(errorType, body to return) for an error the runtime posted.

    A JSON object body is passed on (errorType filled in from the header if missing); anything
    else is wrapped as {"errorMessage", "errorType"}.
    """
    try:
        document = json.loads(body)
    except ValueError:
        document = None
    if not isinstance(document, dict):
        document = {"errorMessage": body.decode("utf-8", "replace"), "errorType": None}
    error_type = str(document.get("errorType") or header_type or default_type)
    document["errorType"] = error_type
    document.setdefault("errorMessage", "")
    return error_type, json.dumps(document).encode()


class Sandbox:
    """The execution environment: child process, invocation queue and statistics.

    Every field is guarded by `cv`. A child is identified by its `generation`; Runtime API calls
    from an older generation (a killed child) never receive work.
    """

    def __init__(self, settings: Settings, runtime_api: str):
        self.settings = settings
        self.runtime_api = runtime_api
        self.cv = threading.Condition()
        self.queue: collections.deque[Invocation] = collections.deque()
        self.current: Invocation | None = None
        self.child: subprocess.Popen | None = None
        self.generation = 0
        self.spawned_at = 0.0
        self.saw_next = False
        self.init_failed = False
        self.stats: dict[str, Any] = {"starts": 0, "invocations": [], "initErrors": [],
                                      "firstNextMs": [], "lastErrorBody": None}

    # -- child process (call with cv held)

    def _child_env(self) -> dict[str, str]:
        s = self.settings
        env = {} if s.clean_env else dict(os.environ)
        env.update({
            "AWS_LAMBDA_RUNTIME_API": self.runtime_api,
            "AWS_LAMBDA_FUNCTION_NAME": s.function_name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(s.memory),
            "AWS_REGION": s.region,
            "AWS_DEFAULT_REGION": s.region,
            "LAMBDA_TASK_ROOT": s.cwd,
            "_HANDLER": "bootstrap",
        })
        env.update(s.env)
        return env

    def _spawn(self) -> None:
        """Start a new child (raises OSError if it cannot be executed)."""
        log = open(self.settings.child_log, "ab") if self.settings.child_log else None
        try:
            child = subprocess.Popen([self.settings.bootstrap], env=self._child_env(),
                                     cwd=self.settings.cwd, stdin=subprocess.DEVNULL,
                                     stdout=log, stderr=log, start_new_session=True)
        finally:
            if log:
                log.close()
        self.generation += 1
        self.child, self.spawned_at = child, time.monotonic()
        self.saw_next = self.init_failed = False
        self.stats["starts"] += 1
        threading.Thread(target=self._watch, args=(child, self.generation), daemon=True).start()

    def _kill_child(self) -> None:
        """Kill the live child; it no longer counts (its later API calls are ignored)."""
        if self.child is not None:
            kill_process_group(self.child)
            self.child = None
            self.generation += 1

    def _watch(self, child: subprocess.Popen, generation: int) -> None:
        """Wait for a child to exit; fail the invocation it was running."""
        code = child.wait()
        with self.cv:
            if generation != self.generation:
                return
            self.child = None
            inv = self.current
            if inv is not None and not inv.done:
                reason = f"exit status {code}" if code >= 0 else f"signal {-code}"
                inv.fail("Runtime.ExitError", f"RequestId: {inv.request_id} Error: Runtime exited "
                                              f"with error: {reason}")
            self.cv.notify_all()

    def shutdown(self) -> None:
        with self.cv:
            self._kill_child()

    # -- Invoke API

    def invoke(self, event: bytes) -> Invocation:
        """Queue an invocation, run it when its turn comes, return it finished."""
        inv = Invocation(event)
        with self.cv:
            self.queue.append(inv)
            while self.queue[0] is not inv or self.current is not None:
                self.cv.wait()
            self.queue.popleft()
            self.current = inv
            inv.started = time.monotonic()
            try:
                self._run(inv)
            finally:
                self.current = None
                self._record(inv)
                self.cv.notify_all()
        return inv

    def _run(self, inv: Invocation) -> None:
        """Make sure a healthy child runs, hand it `inv`, wait for the outcome or the timeout."""
        if self.child is not None and self.init_failed:
            self._kill_child()
        if self.child is None:
            try:
                self._spawn()
            except OSError as exc:
                inv.fail("Runtime.InvalidEntrypoint", f"could not start the bootstrap: {exc}")
                return
        self.cv.notify_all()
        timeout = self.settings.timeout
        while not inv.done:
            limit = inv.deadline if inv.dispatched else inv.started + timeout
            remaining = limit - time.monotonic()
            if remaining <= 0:
                inv.fail("Sandbox.Timedout", f"Task timed out after {timeout:g} seconds")
                self._kill_child()
                return
            self.cv.wait(remaining)

    def _record(self, inv: Invocation) -> None:
        entry: dict[str, Any] = {"requestId": inv.request_id, "ok": inv.ok,
                                 "durationMs": round((time.monotonic() - inv.started) * 1000, 3)}
        if inv.error_type:
            entry["errorType"] = inv.error_type
        self.stats["invocations"].append(entry)

    # -- Runtime API

    def next_invocation(self, connection: socket.socket) -> Invocation | None:
        """Block until there is work for the calling child; None if that child is gone."""
        with self.cv:
            generation = self.generation
            if self.child is None:
                return None
            if not self.saw_next:
                self.saw_next = True
                self.stats["firstNextMs"].append(
                    round((time.monotonic() - self.spawned_at) * 1000, 3))
            while True:
                if generation != self.generation or self.child is None or peer_closed(connection):
                    return None
                inv = self.current
                if inv is not None and not inv.dispatched and not inv.done:
                    inv.dispatched = True
                    inv.deadline = time.monotonic() + self.settings.timeout
                    return inv
                self.cv.wait(1.0)

    def _running(self, request_id: str) -> Invocation | None:
        inv = self.current
        if inv is not None and inv.request_id == request_id and inv.dispatched and not inv.done:
            return inv
        return None

    def post_response(self, request_id: str, body: bytes) -> bool:
        """Finish the running invocation `request_id` with `body`; False if unknown."""
        with self.cv:
            inv = self._running(request_id)
            if inv is None:
                return False
            inv.succeed(body)
            self.cv.notify_all()
            return True

    def post_error(self, request_id: str, body: bytes, header_type: str | None) -> bool:
        """Finish the running invocation `request_id` as a function error; False if unknown."""
        with self.cv:
            inv = self._running(request_id)
            if inv is None:
                return False
            error_type, document = error_document(body, header_type, "Unhandled")
            self.stats["lastErrorBody"] = json.loads(document)
            inv.fail(error_type, "", document)
            self.cv.notify_all()
            return True

    def post_init_error(self, body: bytes, header_type: str | None) -> None:
        """Record an init error; the waiting invocation fails with it; the child is replaced
        at the next invocation."""
        with self.cv:
            error_type, document = error_document(body, header_type, "Runtime.Unknown")
            self.stats["initErrors"].append(json.loads(document))
            self.stats["lastErrorBody"] = json.loads(document)
            self.init_failed = True
            inv = self.current
            if inv is not None and not inv.done:
                inv.fail(error_type, "", document)
            self.cv.notify_all()

    def snapshot(self) -> dict[str, Any]:
        with self.cv:
            stats = json.loads(json.dumps(self.stats))
            stats["childPid"] = self.child.pid if self.child is not None else None
            return stats


def peer_closed(connection: socket.socket) -> bool:
    """True if the client has closed its side (readable with no data)."""
    try:
        readable, _, _ = select.select([connection], [], [], 0)
        return bool(readable) and connection.recv(1, socket.MSG_PEEK) == b""
    except (OSError, ValueError):
        return True


def kill_process_group(child: subprocess.Popen) -> None:
    """SIGKILL the child and anything it started (it leads its own session)."""
    try:
        os.killpg(child.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        child.kill()


def trace_id() -> str:
    """An X-Ray style trace header value."""
    return (f"Root=1-{int(time.time()):08x}-{secrets.token_hex(12)};"
            f"Parent={secrets.token_hex(8)};Sampled=0")


# --------------------------------------------------------------------------- HTTP


class LambdaServer(ThreadingHTTPServer):
    """The HTTP server plus the one sandbox it drives."""

    daemon_threads = True

    def __init__(self, port: int, settings: Settings):
        super().__init__(("127.0.0.1", port), Handler)
        self.settings = settings
        self.sandbox = Sandbox(settings, f"127.0.0.1:{self.server_address[1]}")


class Handler(BaseHTTPRequestHandler):
    """Runtime API under /2018-06-01/runtime/, Invoke API, and GET /_test/stats."""

    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; with Nagle's algorithm on,
    # a kept-alive client's delayed ACK would hold the body back ~40 ms.
    disable_nagle_algorithm = True
    server: LambdaServer

    def _read_body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _send(self, status: int, body: bytes | Any, headers: dict[str, str] | None = None) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (base-class name)
        """Silence per-request logging (events may carry sensitive data)."""

    def do_GET(self) -> None:
        self._read_body()
        if self.path == RUNTIME_PREFIX + "invocation/next":
            self._next()
        elif self.path == "/_test/stats":
            self._send(200, self.server.sandbox.snapshot())
        else:
            self._not_found()

    def do_POST(self) -> None:
        body = self._read_body()
        path = self.path
        sandbox = self.server.sandbox
        if path == RUNTIME_PREFIX + "init/error":
            sandbox.post_init_error(body, self.headers.get("Lambda-Runtime-Function-Error-Type"))
            self._send(202, {"status": "OK"})
        elif path.startswith(RUNTIME_PREFIX + "invocation/"):
            self._runtime_result(path[len(RUNTIME_PREFIX + "invocation/"):], body)
        elif path.startswith(INVOKE_PREFIX) and path.endswith("/invocations"):
            self._invoke(urllib.parse.unquote(path[len(INVOKE_PREFIX):-len("/invocations")]),
                         body)
        else:
            self._not_found()

    def _not_found(self) -> None:
        self._send(404, {"errorMessage": f"no such resource: {self.path}",
                         "errorType": "NotFound"})

    def _next(self) -> None:
        inv = self.server.sandbox.next_invocation(self.connection)
        if inv is None:
            self.close_connection = True
            try:
                self._send(410, {"errorMessage": "this runtime is no longer current",
                                 "errorType": "Gone"})
            except OSError:
                pass  # the runtime is gone
            return
        settings = self.server.settings
        deadline_ms = str(int((time.time() + (inv.deadline - time.monotonic())) * 1000))
        self._send(200, inv.event, {
            "Lambda-Runtime-Aws-Request-Id": inv.request_id,
            "Lambda-Runtime-Deadline-Ms": settings.deadline_header or deadline_ms,
            "Lambda-Runtime-Invoked-Function-Arn": settings.function_arn,
            "Lambda-Runtime-Trace-Id": trace_id(),
        })

    def _runtime_result(self, rest: str, body: bytes) -> None:
        request_id, _, kind = rest.partition("/")
        sandbox = self.server.sandbox
        if kind == "response":
            accepted = sandbox.post_response(request_id, body)
        elif kind == "error":
            accepted = sandbox.post_error(request_id, body,
                                          self.headers.get("Lambda-Runtime-Function-Error-Type"))
        else:
            self._not_found()
            return
        if accepted:
            self._send(202, {"status": "OK"})
        else:
            self._send(400, {"errorMessage": f"Invalid request ID: {request_id}",
                             "errorType": "InvalidRequestID"})

    def _invoke(self, function: str, body: bytes) -> None:
        settings = self.server.settings
        if function.removesuffix(":$LATEST") not in (settings.function_name,
                                                      settings.function_arn):
            self._send(404, {"Type": "User", "message": f"Function not found: {function}"},
                       {"x-amzn-ErrorType": "ResourceNotFoundException"})
            return
        inv = self.server.sandbox.invoke(body)
        headers = {"X-Amzn-RequestId": inv.request_id, "X-Amz-Executed-Version": "$LATEST"}
        if not inv.ok:
            headers["X-Amz-Function-Error"] = "Unhandled"
        self._send(200, inv.body, headers)


# --------------------------------------------------------------------------- main


def parse_env(values: list[str]) -> dict[str, str]:
    """KEY=VALUE strings → dict (later values win)."""
    result = {}
    for value in values:
        key, sep, val = value.partition("=")
        if not sep or not key:
            raise argparse.ArgumentTypeError(f"--env expects KEY=VALUE, got {value!r}")
        result[key] = val
    return result


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file")
    parser.add_argument("--function-name", default="rotator")
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--account", default="123456789012")
    parser.add_argument("--timeout", type=float, default=30)
    parser.add_argument("--memory", type=int, default=128)
    parser.add_argument("--child-log")
    parser.add_argument("--clean-env", action="store_true")
    parser.add_argument("--env", action="append", default=[])
    parser.add_argument("--cwd")
    parser.add_argument("--deadline-header",
                        help="send this Lambda-Runtime-Deadline-Ms instead of the real deadline "
                             "(tests of odd values); the timeout still applies")
    args = parser.parse_args(argv)
    try:
        env = parse_env(args.env)
    except argparse.ArgumentTypeError as exc:
        parser.error(str(exc))
    bootstrap = os.path.abspath(args.bootstrap)
    settings = Settings(bootstrap=bootstrap, function_name=args.function_name,
                        region=args.region, account=args.account, timeout=args.timeout,
                        memory=args.memory, child_log=args.child_log, clean_env=args.clean_env,
                        env=env, cwd=os.path.abspath(args.cwd or os.path.dirname(bootstrap)),
                        deadline_header=args.deadline_header)
    server = LambdaServer(args.port, settings)
    try:
        serve(server, args.port_file)
    finally:
        server.sandbox.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
