"""Tests for the local Secrets Manager's crash-test controls: the /_test/kill fault (with
local/function_kill.py) and the value journal the leak scan reads.

Run from the repository root: python3 -m unittest tests/local/test_kill_fault.py
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO_ROOT, "local"))
sys.path.insert(0, HERE)
import function_kill  # noqa: E402
import sigv4_verify  # noqa: E402
from test_lambda_runtime_server import ServerProcess, http_request  # noqa: E402
from test_secretsmanager_awscli import (ACCESS_KEY, SECRET_KEY, SM_SERVER,  # noqa: E402
                                        TOKEN_ACCESS_KEY, TOKEN_SECRET_KEY, RawClient)

OTHER_KEY, OTHER_SECRET = "AKIDOTHERCALLER", "other/caller+key"


def sleeper() -> subprocess.Popen:
    """A stand-in for the function process: it sleeps until killed."""
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"],
                            start_new_session=True)


class ServerTest(unittest.TestCase):
    def start(self, env: dict[str, str] | None = None) -> None:
        self.workdir = tempfile.mkdtemp(prefix="kill-fault-test-")
        self.addCleanup(shutil.rmtree, self.workdir, ignore_errors=True)
        self.sm = ServerProcess(SM_SERVER, [
            "--credentials", f"{ACCESS_KEY}:{SECRET_KEY}",
            "--credentials", f"{OTHER_KEY}:{OTHER_SECRET}"], self.workdir, "sm", env=env)
        self.addCleanup(self.sm.stop)

    def client(self) -> RawClient:
        client = RawClient(self.sm.port)
        self.addCleanup(client.close)
        return client

    def control(self, method: str, path: str, payload: object = None) -> tuple[int, dict]:
        status, _, body = http_request(method, self.sm.url + path, payload)
        return status, json.loads(body or b"null")

    def secret_exists(self, name: str) -> bool:
        status, _ = self.client().call("DescribeSecret", {"SecretId": name})
        return status == 200


class KillFaultTest(ServerTest):
    def setUp(self) -> None:
        self.start()
        self.victim = sleeper()
        self.addCleanup(self.victim.wait)  # cleanups run last-in first-out: kill, then wait
        self.addCleanup(self.victim.kill)

    def arm(self, **spec: object) -> None:
        status, body = self.control("POST", "/_test/kill", spec)
        self.assertEqual(status, 200, body)

    def test_after_applies_the_call_kills_the_process_and_drops_the_answer(self) -> None:
        self.arm(call=2, when="after", accessKey=ACCESS_KEY, pid=self.victim.pid)
        client = self.client()
        self.assertEqual(client.call("CreateSecret", {"Name": "first"})[0], 200)
        self.assertIsNone(self.victim.poll())
        with self.assertRaises((ConnectionError, OSError)):
            client.call("CreateSecret", {"Name": "second", "SecretString": "x"})
        # Dead before the connection was dropped: no waiting needed here.
        self.assertIn(function_kill.process_state(self.victim.pid), ("Z", None))
        self.assertEqual(self.victim.wait(10), -signal.SIGKILL)
        self.assertTrue(self.secret_exists("second"))
        status, body = self.control("GET", "/_test/kill")
        self.assertEqual((status, body["seen"], body["armed"], body["error"]), (200, 2, False, None))
        self.assertEqual(body["fired"], {"call": 2, "when": "after", "operation": "CreateSecret"})

    def test_after_kills_even_when_the_call_fails(self) -> None:
        self.arm(call=1, when="after", pid=self.victim.pid)
        with self.assertRaises((ConnectionError, OSError)):
            self.client().call("GetSecretValue", {"SecretId": "missing"})
        self.assertEqual(self.victim.wait(10), -signal.SIGKILL)

    def test_before_kills_without_applying(self) -> None:
        self.arm(call=1, when="before", pid=self.victim.pid)
        with self.assertRaises((ConnectionError, OSError)):
            self.client().call("CreateSecret", {"Name": "never", "SecretString": "x"})
        self.assertEqual(self.victim.wait(10), -signal.SIGKILL)
        self.assertFalse(self.secret_exists("never"))

    def test_only_requests_signed_with_the_access_key_count(self) -> None:
        self.arm(call=1, when="before", accessKey=OTHER_KEY, pid=self.victim.pid)
        self.assertEqual(self.client().call("CreateSecret", {"Name": "mine"})[0], 200)
        self.assertIsNone(self.victim.poll())
        self.assertEqual(self.control("GET", "/_test/kill")[1]["seen"], 0)
        other = sigv4_verify.Credential(OTHER_KEY, OTHER_SECRET)
        with self.assertRaises((ConnectionError, OSError)):
            self.client().call("CreateSecret", {"Name": "theirs"}, credential=other)
        self.assertEqual(self.victim.wait(10), -signal.SIGKILL)

    def test_clear_disarms(self) -> None:
        self.arm(call=1, when="before", pid=self.victim.pid)
        self.assertEqual(self.control("POST", "/_test/kill/clear", {})[0], 200)
        self.assertEqual(self.client().call("CreateSecret", {"Name": "safe"})[0], 200)
        self.assertIsNone(self.victim.poll())
        self.assertFalse(self.control("GET", "/_test/kill")[1]["armed"])

    def test_bad_specifications_are_refused(self) -> None:
        for spec in ({"call": 0, "when": "before"}, {"call": 1, "when": "during"},
                     {"call": True, "when": "after"}, {"when": "after"}, [1]):
            status, _ = self.control("POST", "/_test/kill", spec)
            self.assertEqual(status, 400, spec)

    def test_a_missing_function_is_reported(self) -> None:
        # No --lambda-endpoint and no pid: nothing to kill; the connection is still dropped.
        self.arm(call=1, when="before")
        with self.assertRaises((ConnectionError, OSError)):
            self.client().call("ListSecretVersionIds", {"SecretId": "x"})
        self.assertIn("cannot read", self.control("GET", "/_test/kill")[1]["error"])


class StopAndKillTest(unittest.TestCase):
    def test_stop_then_kill_waits_for_each_state(self) -> None:
        victim = sleeper()
        self.addCleanup(victim.wait)
        function_kill.stop(victim.pid)
        self.assertIn(function_kill.process_state(victim.pid), ("T", "t"))
        function_kill.kill(victim.pid)
        self.assertIn(function_kill.process_state(victim.pid), ("Z", None))

    def test_a_gone_process_is_not_an_error(self) -> None:
        victim = sleeper()
        victim.kill()
        victim.wait()
        function_kill.stop(victim.pid)
        function_kill.kill(victim.pid)
        self.assertIsNone(function_kill.process_state(victim.pid))


class ValueJournalTest(ServerTest):
    def test_every_secret_string_and_generated_password_is_journaled(self) -> None:
        output = tempfile.mkdtemp(prefix="journal-test-")
        self.addCleanup(shutil.rmtree, output, ignore_errors=True)
        self.start(dict(os.environ, SECRET_ROTATOR_TEST_OUTPUT_DIR=output))
        client = self.client()
        stored = json.dumps({"username": "u", "password": "stored-Pa55word-value"})
        self.assertEqual(client.call("CreateSecret", {"Name": "s", "SecretString": stored})[0],
                         200)
        refused = client.call("PutSecretValue", {"SecretId": "s", "SecretString": "refused-one",
                                                 "ClientRequestToken": "short"})
        self.assertEqual(refused[0], 400)
        unsigned = client.call("CreateSecret", {"Name": "u", "SecretString": "unsigned-one"},
                               unsigned=True)
        self.assertNotEqual(unsigned[0], 200)
        status, generated = client.call("GetRandomPassword", {"PasswordLength": 20})
        self.assertEqual(status, 200)
        files = glob.glob(os.path.join(output, "secret-values", "secretsmanager-*.jsonl"))
        self.assertEqual(len(files), 1)
        self.assertEqual(os.stat(files[0]).st_mode & 0o077, 0)
        with open(files[0], encoding="utf-8") as f:
            entries = [json.loads(line) for line in f]
        self.assertEqual(entries, [{"secretString": stored}, {"secretString": "refused-one"},
                                   {"secretString": "unsigned-one"},
                                   {"generated": generated["RandomPassword"]}])
        # Never in the server's own log.
        self.assertNotIn("stored-Pa55word-value", self.sm.stderr())

    def test_nothing_is_journaled_without_the_variable(self) -> None:
        env = {k: v for k, v in os.environ.items() if k != "SECRET_ROTATOR_TEST_OUTPUT_DIR"}
        self.start(env)
        self.assertEqual(self.client().call("CreateSecret", {"Name": "s",
                                                             "SecretString": "value"})[0], 200)
        self.assertEqual(glob.glob(os.path.join(self.workdir, "**", "*.jsonl"), recursive=True),
                         [])


if __name__ == "__main__":
    unittest.main()
