"""Tests for local/lambda_runtime_server.py, driven by a fake Python bootstrap.

Run from the repository root: python3 -m unittest tests/local/test_lambda_runtime_server.py
Also provides `ServerProcess`, used by the other local tests to start servers.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LOCAL_DIR = os.path.join(REPO_ROOT, "local")
LAMBDA_SERVER = os.path.join(LOCAL_DIR, "lambda_runtime_server.py")
FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:rotator"

# A minimal custom runtime speaking the Runtime API with urllib. The event's "action" decides
# what it does; FAKE_INIT_ERROR makes it report an init error and exit.
FAKE_BOOTSTRAP = textwrap.dedent("""\
    #!{python} -I
    import json, os, sys, time, urllib.request

    API = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime"

    def post(path, payload, headers=None):
        request = urllib.request.Request(API + path, data=json.dumps(payload).encode(),
                                         headers=headers or {{}}, method="POST")
        urllib.request.urlopen(request).read()

    def original_environ():
        with open("/proc/self/environ", "rb") as f:
            items = [item.decode().partition("=") for item in f.read().split(b"\\0") if item]
        return {{key: value for key, _, value in items}}

    if os.environ.get("FAKE_INIT_ERROR"):
        post("/init/error", {{"errorMessage": "cannot start", "errorType": "FakeInitError"}},
             {{"Lambda-Runtime-Function-Error-Type": "FakeInitError"}})
        sys.exit(1)

    while True:
        with urllib.request.urlopen(API + "/invocation/next") as response:
            event = json.loads(response.read())
            request_id = response.headers["Lambda-Runtime-Aws-Request-Id"]
            lambda_headers = {{k: v for k, v in response.headers.items()
                              if k.lower().startswith("lambda-runtime-")}}
        action = event.get("action")
        if action == "crash":
            os._exit(3)
        if action == "sleep":
            time.sleep(event["seconds"])
        if action == "error":
            post(f"/invocation/{{request_id}}/error",
                 {{"errorMessage": "boom", "errorType": "FakeError"}},
                 {{"Lambda-Runtime-Function-Error-Type": "FakeError"}})
            continue
        result = {{"event": event, "pid": os.getpid(), "headers": lambda_headers}}
        if action == "env":
            result["env"] = original_environ()
        post(f"/invocation/{{request_id}}/response", result)
    """)


def write_fake_bootstrap(directory: str) -> str:
    """Write the fake runtime to `directory`/bootstrap (executable); return its path."""
    path = os.path.join(directory, "bootstrap")
    with open(path, "w", encoding="utf-8") as f:
        f.write(FAKE_BOOTSTRAP.format(python=sys.executable))
    os.chmod(path, 0o755)
    return path


class ServerProcess:
    """One of the local servers, started as a child process on an ephemeral port."""

    def __init__(self, script: str, args: list[str], workdir: str, name: str,
                 env: dict[str, str] | None = None):
        port_file = os.path.join(workdir, f"{name}.port")
        self.stdout_path = os.path.join(workdir, f"{name}.stdout")
        self.stderr_path = os.path.join(workdir, f"{name}.stderr")
        with open(self.stdout_path, "wb") as stdout, open(self.stderr_path, "wb") as stderr:
            self.proc = subprocess.Popen(
                [sys.executable, script, "--port", "0", "--port-file", port_file, *args],
                stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr, env=env)
        deadline = time.monotonic() + 10
        while not os.path.exists(port_file):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{name} did not start: {self.stderr()}")
            time.sleep(0.02)
        with open(port_file, encoding="utf-8") as f:
            self.port = int(f.read())
        self.url = f"http://127.0.0.1:{self.port}"

    def stdout(self) -> str:
        with open(self.stdout_path, encoding="utf-8", errors="replace") as f:
            return f.read()

    def stderr(self) -> str:
        with open(self.stderr_path, encoding="utf-8", errors="replace") as f:
            return f.read()

    def stop(self) -> int:
        """SIGTERM, wait; return the exit status."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


def http_request(method: str, url: str, payload: object = None,
         timeout: float = 30) -> tuple[int, dict[str, str], bytes]:
    """Plain HTTP request; returns (status, headers, body) for every status."""
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(url, data=data, method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


class LambdaRuntimeServerTest(unittest.TestCase):
    """Each test gets its own server and fake function."""

    def start(self, *extra: str) -> ServerProcess:
        server = ServerProcess(LAMBDA_SERVER, ["--bootstrap", self.bootstrap,
                                               "--child-log", self.child_log, *extra],
                               self.workdir, "lambda")
        self.addCleanup(server.stop)
        return server

    def setUp(self) -> None:
        self.workdir = tempfile.mkdtemp(prefix="lambda-test-")
        self.addCleanup(shutil.rmtree, self.workdir, ignore_errors=True)
        self.bootstrap = write_fake_bootstrap(self.workdir)
        self.child_log = os.path.join(self.workdir, "child.log")

    def invoke(self, server: ServerProcess, event: dict,
               function: str = "rotator") -> tuple[int, dict[str, str], object]:
        quoted = urllib.parse.quote(function, safe="")
        status, headers, body = http_request("POST", f"{server.url}/2015-03-31/functions/{quoted}/"
                                             "invocations", event)
        return status, headers, json.loads(body)

    def stats(self, server: ServerProcess) -> dict:
        return json.loads(http_request("GET", server.url + "/_test/stats")[2])

    def test_invoke_returns_the_function_response(self) -> None:
        server = self.start()
        status, headers, body = self.invoke(server, {"action": "echo", "n": 1})
        self.assertEqual(status, 200)
        self.assertNotIn("X-Amz-Function-Error", headers)
        self.assertEqual(body["event"], {"action": "echo", "n": 1})
        status, _, second = self.invoke(server, {"action": "echo", "n": 2}, FUNCTION_ARN)
        self.assertEqual((status, second["pid"]), (200, body["pid"]), "child is reused")
        stats = self.stats(server)
        self.assertEqual(stats["starts"], 1)
        self.assertEqual([i["ok"] for i in stats["invocations"]], [True, True])
        self.assertEqual(len(stats["firstNextMs"]), 1)

    def test_runtime_headers(self) -> None:
        server = self.start("--timeout", "7")
        before_ms = time.time() * 1000
        _, _, body = self.invoke(server, {"action": "echo"})
        headers = {k.lower(): v for k, v in body["headers"].items()}
        deadline = int(headers["lambda-runtime-deadline-ms"])
        self.assertGreater(deadline, time.time() * 1000)
        self.assertLessEqual(deadline, before_ms + 7000 + 1000)
        self.assertEqual(headers["lambda-runtime-invoked-function-arn"], FUNCTION_ARN)
        self.assertRegex(headers["lambda-runtime-trace-id"],
                         r"^Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=0$")
        self.assertRegex(headers["lambda-runtime-aws-request-id"], r"^[0-9a-f-]{36}$")
        self.assertEqual(self.stats(server)["invocations"][0]["requestId"],
                         headers["lambda-runtime-aws-request-id"])

    def test_error_post_is_a_function_error(self) -> None:
        server = self.start()
        status, headers, body = self.invoke(server, {"action": "error"})
        self.assertEqual(status, 200)
        self.assertEqual(headers.get("X-Amz-Function-Error"), "Unhandled")
        self.assertEqual((body["errorType"], body["errorMessage"]), ("FakeError", "boom"))
        stats = self.stats(server)
        self.assertEqual(stats["invocations"][0]["errorType"], "FakeError")
        self.assertEqual(stats["lastErrorBody"]["errorType"], "FakeError")
        self.assertEqual(self.invoke(server, {"action": "echo"})[0], 200, "still serving")
        self.assertEqual(self.stats(server)["starts"], 1)

    def test_init_error_fails_the_invocation(self) -> None:
        server = self.start("--env", "FAKE_INIT_ERROR=1")
        status, headers, body = self.invoke(server, {"action": "echo"})
        self.assertEqual((status, headers.get("X-Amz-Function-Error")), (200, "Unhandled"))
        self.assertEqual(body["errorType"], "FakeInitError")
        stats = self.stats(server)
        self.assertEqual([e["errorType"] for e in stats["initErrors"]], ["FakeInitError"])
        self.invoke(server, {"action": "echo"})
        self.assertEqual(self.stats(server)["starts"], 2, "a new child for the next invocation")

    def test_crash_fails_then_restarts(self) -> None:
        server = self.start()
        _, _, first = self.invoke(server, {"action": "echo"})
        status, headers, body = self.invoke(server, {"action": "crash"})
        self.assertEqual((status, headers.get("X-Amz-Function-Error")), (200, "Unhandled"))
        self.assertEqual(body["errorType"], "Runtime.ExitError")
        self.assertIn("exit status 3", body["errorMessage"])
        status, _, after = self.invoke(server, {"action": "echo"})
        self.assertEqual(status, 200)
        self.assertNotEqual(after["pid"], first["pid"])
        self.assertEqual(self.stats(server)["starts"], 2)

    def test_timeout_kills_the_child(self) -> None:
        server = self.start("--timeout", "0.5")
        _, _, first = self.invoke(server, {"action": "echo"})
        started = time.monotonic()
        status, headers, body = self.invoke(server, {"action": "sleep", "seconds": 30})
        self.assertLess(time.monotonic() - started, 5)
        self.assertEqual((status, headers.get("X-Amz-Function-Error")), (200, "Unhandled"))
        self.assertEqual(body, {"errorMessage": "Task timed out after 0.5 seconds",
                                "errorType": "Sandbox.Timedout"})
        self.assertTrue(wait_for_exit(first["pid"]), "timed-out child is killed")
        self.assertEqual(self.invoke(server, {"action": "echo"})[0], 200)

    def test_concurrent_invocations_are_serialized(self) -> None:
        server = self.start()
        results: list[tuple] = []
        threads = [threading.Thread(target=lambda n=n: results.append(
            self.invoke(server, {"action": "sleep", "seconds": 0.2, "n": n}))) for n in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertEqual(sorted(r[2]["event"]["n"] for r in results), [0, 1, 2])
        self.assertEqual(self.stats(server)["starts"], 1)

    def test_clean_env_gives_only_lambda_variables(self) -> None:
        server = self.start("--clean-env", "--env", "EXTRA=1", "--env", "AWS_REGION=eu-west-1",
                            "--function-name", "fn", "--memory", "256")
        _, _, body = self.invoke(server, {"action": "env"}, "fn")
        self.assertEqual(body["env"], {
            "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{server.port}",
            "AWS_LAMBDA_FUNCTION_NAME": "fn",
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
            "AWS_REGION": "eu-west-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "LAMBDA_TASK_ROOT": self.workdir,
            "_HANDLER": "bootstrap",
            "EXTRA": "1",
        })

    def test_inherited_env_and_unknown_function(self) -> None:
        server = self.start()
        _, _, body = self.invoke(server, {"action": "env"})
        self.assertEqual(body["env"].get("PATH"), os.environ.get("PATH"))
        self.assertEqual(self.invoke(server, {}, "other")[0], 404)

    def test_unknown_request_id_and_sigterm(self) -> None:
        server = self.start()
        status, _, body = http_request("POST", server.url + "/2018-06-01/runtime/invocation/nope/response",
                               {})
        self.assertEqual((status, json.loads(body)["errorType"]), (400, "InvalidRequestID"))
        _, _, first = self.invoke(server, {"action": "echo"})
        self.assertEqual(server.stop(), 0)
        self.assertTrue(wait_for_exit(first["pid"]), "child is killed on SIGTERM")


def pid_alive(pid: int) -> bool:
    """True if process `pid` exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as f:
            return f.read().rpartition(")")[2].split()[0] != "Z"
    except FileNotFoundError:
        return False


def wait_for_exit(pid: int, timeout: float = 5) -> bool:
    """True once process `pid` is gone (or a zombie), False if still running after `timeout`."""
    deadline = time.monotonic() + timeout
    while pid_alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


if __name__ == "__main__":
    unittest.main()
