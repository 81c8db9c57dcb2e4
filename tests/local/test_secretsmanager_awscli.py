"""Tests for local/secretsmanager_server.py and local/sigv4_verify.py.

The client is the real AWS CLI (Debian's awscli: /usr/bin/aws, or $AWS_CLI), so the server's
protocol, signature checks and error answers are checked against AWS's own client. Requests that
the CLI cannot produce (tampered, unsigned, faulty) are sent by hand.

Run from the repository root: python3 -m unittest tests/local/test_secretsmanager_awscli.py
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import unittest
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(os.path.dirname(TESTS_DIR))
sys.path.insert(0, os.path.join(REPO_ROOT, "local"))
sys.path.insert(0, TESTS_DIR)

import sigv4_verify  # noqa: E402
from test_lambda_runtime_server import LAMBDA_SERVER, ServerProcess, http_request  # noqa: E402

SM_SERVER = os.path.join(REPO_ROOT, "local", "secretsmanager_server.py")
AWS_CLI = os.environ.get("AWS_CLI", "/usr/bin/aws")
REGION = "us-east-1"
ACCESS_KEY, SECRET_KEY = "AKIDLOCALTEST", "local/Secret+Key"
TOKEN_ACCESS_KEY, TOKEN_SECRET_KEY, SESSION_TOKEN = "ASIALOCALTEST", "other/Secret", "sess+token/1="
FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:rotator"
JSON_TYPE = "application/x-amz-json-1.1"
ARN_PATTERN = r"^arn:aws:secretsmanager:us-east-1:123456789012:secret:{}-[A-Za-z0-9]{{6}}$"

# A rotation function for the Lambda stand-in: Runtime API loop with urllib; createSecret and
# finishSecret through the AWS CLI. Every event is appended to events.jsonl in its task root; the
# step named in the file fail_step (if present) fails.
FAKE_ROTATOR = textwrap.dedent("""\
    #!{python} -I
    import json, os, subprocess, urllib.request

    API = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime"
    ROOT = os.environ["LAMBDA_TASK_ROOT"]

    def post(path, payload):
        request = urllib.request.Request(API + path, data=json.dumps(payload).encode(),
                                         method="POST")
        urllib.request.urlopen(request).read()

    def aws(*args):
        result = subprocess.run([os.environ["AWS_CLI"], "--endpoint-url", os.environ["SM_ENDPOINT"],
                                 "--output", "json", "secretsmanager", *args],
                                capture_output=True, text=True)
        if result.returncode:
            raise RuntimeError(result.stderr.strip().splitlines()[-1])
        return json.loads(result.stdout or "null")

    def rotate(step, arn, token):
        if step == "createSecret":
            aws("put-secret-value", "--secret-id", arn, "--client-request-token", token,
                "--secret-string", json.dumps({{"password": "pw-" + token[::-1]}}),
                "--version-stages", "AWSPENDING")
        elif step == "finishSecret":
            stages = aws("describe-secret", "--secret-id", arn)["VersionIdsToStages"]
            current = next(v for v, s in stages.items() if "AWSCURRENT" in s)
            if current != token:
                aws("update-secret-version-stage", "--secret-id", arn, "--version-stage",
                    "AWSCURRENT", "--move-to-version-id", token, "--remove-from-version-id",
                    current)

    while True:
        with urllib.request.urlopen(API + "/invocation/next") as response:
            event = json.loads(response.read())
            request_id = response.headers["Lambda-Runtime-Aws-Request-Id"]
        with open(os.path.join(ROOT, "events.jsonl"), "a") as f:
            f.write(json.dumps(event) + "\\n")
        fail_path = os.path.join(ROOT, "fail_step")
        fail_step = open(fail_path).read().strip() if os.path.exists(fail_path) else None
        try:
            if event["Step"] == fail_step:
                raise RuntimeError(event["Step"] + " refused by the test")
            rotate(event["Step"], event["SecretId"], event["ClientRequestToken"])
            post(f"/invocation/{{request_id}}/response", {{}})
        except Exception as exc:
            post(f"/invocation/{{request_id}}/error",
                 {{"errorType": "FakeRotationError", "errorMessage": str(exc)}})
    """)


def cli_env(home: str, access_key: str, secret_key: str, token: str | None = None,
            region: str = REGION) -> dict[str, str]:
    """A clean environment for the AWS CLI: static keys, no config files, no pager, no retries."""
    env = {"PATH": "/usr/bin:/bin", "HOME": home, "AWS_ACCESS_KEY_ID": access_key,
           "AWS_SECRET_ACCESS_KEY": secret_key, "AWS_REGION": region,
           "AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
           "AWS_PAGER": "", "AWS_MAX_ATTEMPTS": "1"}
    if token:
        env["AWS_SESSION_TOKEN"] = token
    return env


@dataclass
class CliResult:
    """An AWS CLI run: exit status, parsed JSON output, AWS error type from stderr."""

    returncode: int
    output: dict | None
    error_type: str | None
    stderr: str


def free_port() -> int:
    """A port that was free a moment ago (for the server whose address must be known first)."""
    with socket.create_server(("127.0.0.1", 0)) as sock:
        return sock.getsockname()[1]


class TamperingProxy:
    """Forwards each request to `upstream_port` after replacing `old` by `new` (same length) in
    its body, and relays the answer; one request per connection."""

    def __init__(self, upstream_port: int, old: bytes, new: bytes):
        assert len(old) == len(new)
        self.upstream_port, self.old, self.new = upstream_port, old, new
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self.listener.close()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            with conn, socket.create_connection(("127.0.0.1", self.upstream_port)) as upstream:
                head, body = read_message(conn)
                upstream.sendall(head + body.replace(self.old, self.new))
                conn.sendall(b"".join(read_message(upstream)))


def read_message(sock: socket.socket) -> tuple[bytes, bytes]:
    """Read one HTTP message with a Content-Length body: (head including CRLFCRLF, body)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("connection closed mid-message")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    match = re.search(rb"(?im)^content-length:\s*(\d+)", head)
    length = int(match.group(1)) if match else 0
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("connection closed mid-body")
        body += chunk
    return head + b"\r\n\r\n", body


class RawClient:
    """Hand-made signed JSON 1.1 requests over one keep-alive connection."""

    def __init__(self, port: int):
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.last_error_header: str | None = None  # x-amzn-ErrorType of the last answer

    def close(self) -> None:
        self.conn.close()

    def call(self, operation: str, payload: dict | bytes, *, sign_body: bytes | None = None,
             credential: sigv4_verify.Credential | None = None,
             extra_headers: list[tuple[str, str]] | None = None, unsigned: bool = False,
             region: str = REGION, service: str = "secretsmanager",
             **sign_options) -> tuple[int, dict]:
        """POST `payload` (an object, or raw body bytes) and return (status, parsed answer).

        `sign_body` signs other bytes than those sent (tampering); `sign_options` go to
        sigv4_verify.sign_request (amz_date, signed_headers).
        """
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        headers = [("Host", f"127.0.0.1:{self.port}"), ("Content-Type", JSON_TYPE),
                   ("X-Amz-Target", f"secretsmanager.{operation}")] + (extra_headers or [])
        if not unsigned:
            headers = sigv4_verify.sign_request(
                "POST", "/", headers, body if sign_body is None else sign_body,
                credential or sigv4_verify.Credential(ACCESS_KEY, SECRET_KEY), region, service,
                **sign_options)
        self.conn.putrequest("POST", "/", skip_host=True, skip_accept_encoding=True)
        for name, value in headers:
            self.conn.putheader(name, value)
        self.conn.putheader("Content-Length", str(len(body)))
        self.conn.endheaders(body)
        response = self.conn.getresponse()
        data = json.loads(response.read() or b"null")
        self.last_error_header = response.getheader("x-amzn-ErrorType")
        return response.status, data


class SigV4TestSuiteTest(unittest.TestCase):
    def test_every_header_signing_vector_verifies(self) -> None:
        results = sigv4_verify.self_test(sigv4_verify.default_suite_dir())
        self.assertGreaterEqual(len(results), 30)
        self.assertEqual({name: problems for name, problems in results.items() if problems}, {})


class SecretsManagerTestBase(unittest.TestCase):
    """One Secrets Manager server per class; with `with_lambda`, also a Lambda stand-in running
    FAKE_ROTATOR as the rotation function."""

    with_lambda = False

    @classmethod
    def setUpClass(cls) -> None:
        # Under ctest the logs are kept in the run's test output folder, for the leak scan.
        output = os.environ.get("SECRET_ROTATOR_TEST_OUTPUT_DIR")
        if output:
            os.makedirs(output, exist_ok=True)
            cls.workdir = tempfile.mkdtemp(prefix="sm-test-", dir=output)
        else:
            cls.workdir = tempfile.mkdtemp(prefix="sm-test-")
            cls.addClassCleanup(shutil.rmtree, cls.workdir, ignore_errors=True)
        # The two servers need each other's address: reserve the Lambda port first.
        lambda_port = free_port()
        cls.sm = ServerProcess(SM_SERVER, [
            "--credentials", f"{ACCESS_KEY}:{SECRET_KEY}",
            "--credentials", f"{TOKEN_ACCESS_KEY}:{TOKEN_SECRET_KEY}:{SESSION_TOKEN}",
            "--log", os.path.join(cls.workdir, "sm.log"),
            *([f"--lambda-endpoint=http://127.0.0.1:{lambda_port}"] if cls.with_lambda else [])],
            cls.workdir, "sm")
        cls.addClassCleanup(cls.sm.stop)
        if cls.with_lambda:
            cls.start_lambda(lambda_port)

    @classmethod
    def start_lambda(cls, port: int) -> None:
        cls.function_dir = os.path.join(cls.workdir, "function")
        os.mkdir(cls.function_dir)
        bootstrap = os.path.join(cls.function_dir, "bootstrap")
        with open(bootstrap, "w", encoding="utf-8") as f:
            f.write(FAKE_ROTATOR.format(python=sys.executable))
        os.chmod(bootstrap, 0o755)
        env = cli_env(cls.workdir, ACCESS_KEY, SECRET_KEY) | {"AWS_CLI": AWS_CLI,
                                                               "SM_ENDPOINT": cls.sm.url}
        lam = ServerProcess(LAMBDA_SERVER, [
            "--port", str(port), "--bootstrap", bootstrap, "--clean-env", "--timeout", "60",
            "--child-log", os.path.join(cls.workdir, "function.log"),
            *[f"--env={key}={value}" for key, value in env.items()]], cls.workdir, "lambda")
        cls.addClassCleanup(lam.stop)

    def setUp(self) -> None:
        self.raw = RawClient(self.sm.port)
        self.addCleanup(self.raw.close)

    def aws(self, *args: str, access_key: str = ACCESS_KEY, secret_key: str = SECRET_KEY,
            token: str | None = None, region: str = REGION, port: int | None = None) -> CliResult:
        """Run `aws secretsmanager ARGS` against the server (or a proxy on `port`)."""
        command = [AWS_CLI, "--endpoint-url", f"http://127.0.0.1:{port or self.sm.port}",
                   "--output", "json", "secretsmanager", *args]
        result = subprocess.run(command, env=cli_env(self.workdir, access_key, secret_key, token,
                                                     region),
                                capture_output=True, text=True, timeout=120)
        match = re.search(r"An error occurred \((\w+)\)", result.stderr)
        output = json.loads(result.stdout) if result.returncode == 0 and result.stdout else None
        return CliResult(result.returncode, output, match.group(1) if match else None,
                         result.stderr)

    def ok(self, *args: str, **kwargs) -> dict:
        """Run the CLI and require success; return its output."""
        return self.succeeded(self.aws(*args, **kwargs))

    def fails(self, error_type: str, *args: str, **kwargs) -> str:
        """Run the CLI and require AWS error `error_type`; return the CLI's message."""
        return self.failed(error_type, self.aws(*args, **kwargs))

    def succeeded(self, result: CliResult) -> dict:
        self.assertEqual(result.returncode, 0, result.stderr)
        return result.output or {}

    def failed(self, error_type: str, result: CliResult) -> str:
        self.assertNotEqual(result.returncode, 0)
        self.assertEqual(result.error_type, error_type, result.stderr)
        return result.stderr

    @staticmethod
    def concurrently(*calls: Callable[[], CliResult]) -> list[CliResult]:
        """Run independent CLI calls at once (the CLI's start-up time dominates these tests)."""
        with ThreadPoolExecutor(max_workers=4) as pool:
            return list(pool.map(lambda call: call(), calls))

    def raw_ok(self, operation: str, payload: dict) -> dict:
        status, body = self.raw.call(operation, payload)
        self.assertEqual(status, 200, body)
        return body

    def stages(self, secret_id: str) -> dict[str, list[str]]:
        return self.raw_ok("DescribeSecret", {"SecretId": secret_id})["VersionIdsToStages"]

    def new_name(self, prefix: str) -> str:
        return f"{prefix}-{uuid.uuid4().hex[:8]}"

    def create(self, prefix: str, value: str = '{"password":"initial"}') -> tuple[str, str, str]:
        """Create a secret by hand; return (name, arn, version id)."""
        name = self.new_name(prefix)
        body = self.raw_ok("CreateSecret", {"Name": name, "SecretString": value,
                                            "ClientRequestToken": str(uuid.uuid4())})
        return name, body["ARN"], body["VersionId"]


class SecretsManagerCliTest(SecretsManagerTestBase):
    """The operations as the AWS CLI uses them."""

    with_lambda = True

    def test_create_describe_get(self) -> None:
        name = self.new_name("app/db")
        created = self.ok("create-secret", "--name", name, "--secret-string", '{"password":"a"}',
                          "--description", "test secret")
        self.assertRegex(created["ARN"], ARN_PATTERN.format(re.escape(name)))
        self.assertEqual(created["Name"], name)
        v1 = created["VersionId"]
        get = ["get-secret-value", "--secret-id", name]
        described, *values, pending, duplicate, unknown = self.concurrently(
            lambda: self.aws("describe-secret", "--secret-id", created["ARN"]),
            lambda: self.aws(*get),
            lambda: self.aws(*get, "--version-stage", "AWSCURRENT"),
            lambda: self.aws(*get, "--version-id", v1),
            lambda: self.aws(*get, "--version-stage", "AWSPENDING"),
            lambda: self.aws("create-secret", "--name", name, "--secret-string", "x"),
            lambda: self.aws("describe-secret", "--secret-id", name + "-nope"))
        described = self.succeeded(described)
        self.assertEqual(described["VersionIdsToStages"], {v1: ["AWSCURRENT"]})
        self.assertEqual((described["RotationEnabled"], described["Description"]),
                         (False, "test secret"))
        for value in map(self.succeeded, values):
            self.assertEqual((value["SecretString"], value["VersionId"], value["VersionStages"]),
                             ('{"password":"a"}', v1, ["AWSCURRENT"]))
        self.failed("ResourceNotFoundException", pending)
        self.failed("ResourceExistsException", duplicate)
        self.failed("ResourceNotFoundException", unknown)

    def test_put_secret_value_is_idempotent_per_token(self) -> None:
        name, _, v1 = self.create("put")
        token = str(uuid.uuid4())
        put = ["put-secret-value", "--secret-id", name, "--client-request-token", token]
        first = self.ok(*put, "--secret-string", "two")
        self.assertEqual((first["VersionId"], first["VersionStages"]), (token, ["AWSCURRENT"]))
        same, other = self.concurrently(lambda: self.aws(*put, "--secret-string", "two"),
                                        lambda: self.aws(*put, "--secret-string", "three"))
        self.assertEqual(self.succeeded(same)["VersionStages"], ["AWSCURRENT"])
        self.assertIn("You can't modify an existing version",
                      self.failed("ResourceExistsException", other))
        versions = self.ok("list-secret-version-ids", "--secret-id", name)["Versions"]
        self.assertEqual({v["VersionId"]: v["VersionStages"] for v in versions},
                         {v1: ["AWSPREVIOUS"], token: ["AWSCURRENT"]})

    def test_update_secret_version_stage(self) -> None:
        name, _, v1 = self.create("stage")
        v2 = str(uuid.uuid4())
        self.raw_ok("PutSecretValue", {"SecretId": name, "ClientRequestToken": v2,
                                       "SecretString": "two", "VersionStages": ["AWSPENDING"]})
        move = ["update-secret-version-stage", "--secret-id", name, "--version-stage",
                "AWSCURRENT", "--move-to-version-id", v2]
        message = self.fails("InvalidParameterException", *move)
        self.assertIn(v1, message)
        self.ok(*move, "--remove-from-version-id", v1)
        self.assertEqual(self.stages(name), {v1: ["AWSPREVIOUS"], v2: ["AWSCURRENT", "AWSPENDING"]})
        previous, remove_current = self.concurrently(
            lambda: self.aws("get-secret-value", "--secret-id", name, "--version-stage",
                             "AWSPREVIOUS"),
            lambda: self.aws("update-secret-version-stage", "--secret-id", name, "--version-stage",
                             "AWSCURRENT", "--remove-from-version-id", v2))
        self.assertEqual(self.succeeded(previous)["VersionId"], v1)
        self.failed("InvalidParameterException", remove_current)
        # Rolling back swaps AWSPREVIOUS onto the version that loses AWSCURRENT.
        self.raw_ok("UpdateSecretVersionStage", {"SecretId": name, "VersionStage": "AWSCURRENT",
                                                 "MoveToVersionId": v1, "RemoveFromVersionId": v2})
        self.assertEqual(self.stages(name), {v1: ["AWSCURRENT"], v2: ["AWSPENDING", "AWSPREVIOUS"]})

    def test_get_random_password(self) -> None:
        excluding, short, nothing_left = self.concurrently(
            lambda: self.aws("get-random-password", "--password-length", "64",
                             "--exclude-punctuation", "--exclude-characters", "abcXYZ"),
            lambda: self.aws("get-random-password", "--password-length", "4"),
            lambda: self.aws("get-random-password", "--exclude-lowercase", "--exclude-uppercase",
                             "--exclude-numbers", "--exclude-punctuation"))
        password = self.succeeded(excluding)["RandomPassword"]
        self.assertEqual(len(password), 64)
        self.assertRegex(password, r"^[d-zA-W0-9]+$")
        short = self.succeeded(short)["RandomPassword"]
        for pattern in (r"[a-z]", r"[A-Z]", r"[0-9]", r"[^A-Za-z0-9]"):
            self.assertRegex(short, pattern, "each included type is present")
        self.failed("InvalidParameterException", nothing_left)

    def test_delete_secret(self) -> None:
        name, _, _ = self.create("delete")
        deleted = self.ok("delete-secret", "--secret-id", name, "--recovery-window-in-days", "7")
        self.assertIn("DeletionDate", deleted)
        described, value = self.concurrently(
            lambda: self.aws("describe-secret", "--secret-id", name),
            lambda: self.aws("get-secret-value", "--secret-id", name))
        self.assertIn("DeletedDate", self.succeeded(described))
        self.failed("InvalidRequestException", value)
        self.ok("delete-secret", "--secret-id", name, "--force-delete-without-recovery")
        status, body = self.raw.call("DescribeSecret", {"SecretId": name})
        self.assertEqual((status, body["__type"]), (400, "ResourceNotFoundException"))

    def test_signature_and_credential_failures(self) -> None:
        args = ["get-random-password"]
        wrong_secret, unknown_key, no_token, with_token, wrong_region = self.concurrently(
            lambda: self.aws(*args, secret_key="wrong"),
            lambda: self.aws(*args, access_key="AKIDUNKNOWN"),
            lambda: self.aws(*args, access_key=TOKEN_ACCESS_KEY, secret_key=TOKEN_SECRET_KEY),
            lambda: self.aws(*args, access_key=TOKEN_ACCESS_KEY, secret_key=TOKEN_SECRET_KEY,
                             token=SESSION_TOKEN),
            lambda: self.aws(*args, region="eu-west-1"))
        self.assertIn("does not match", self.failed("InvalidSignatureException", wrong_secret))
        self.failed("UnrecognizedClientException", unknown_key)
        self.failed("UnrecognizedClientException", no_token)
        self.succeeded(with_token)
        self.assertIn("region", self.failed("InvalidSignatureException", wrong_region))

    def test_tampered_body_is_rejected(self) -> None:
        name, _, _ = self.create("tamper")
        proxy = TamperingProxy(self.sm.port, b"tamper-", b"TAMPER-")
        self.addCleanup(proxy.close)
        self.assertIn("does not match", self.fails("InvalidSignatureException", "describe-secret",
                                                   "--secret-id", name, port=proxy.port))

    def test_rotate_secret_with_the_lambda_stand_in(self) -> None:
        name, arn, v1 = self.create("rotate")
        rotated = self.ok("rotate-secret", "--secret-id", name, "--rotation-lambda-arn",
                          FUNCTION_ARN, "--rotation-rules", "AutomaticallyAfterDays=30")
        v2 = rotated["VersionId"]
        events = self.events(v2)
        self.assertEqual([e["Step"] for e in events],
                         ["createSecret", "setSecret", "testSecret", "finishSecret"])
        self.assertEqual({(e["SecretId"], e["RotationToken"]) for e in events},
                         {(arn, events[0]["RotationToken"])})
        described = self.raw_ok("DescribeSecret", {"SecretId": name})
        self.assertEqual(described["VersionIdsToStages"],
                         {v1: ["AWSPREVIOUS"], v2: ["AWSCURRENT", "AWSPENDING"]})
        self.assertEqual((described["RotationEnabled"], described["RotationLambdaARN"],
                          described["RotationRules"]), (True, FUNCTION_ARN,
                                                        {"AutomaticallyAfterDays": 30}))
        self.assertIn("LastRotatedDate", described)
        current = self.raw_ok("GetSecretValue", {"SecretId": name})
        # Reversed: the version id itself is in the logs, and the leak scan searches passwords.
        self.assertEqual(json.loads(current["SecretString"]), {"password": "pw-" + v2[::-1]})

        self.set_failing_step("createSecret")
        message = self.fails("RotationFailedException", "rotate-secret", "--secret-id", name)
        self.assertIn("rotation step createSecret failed: FakeRotationError", message)
        v3 = next(v for v, s in self.stages(name).items() if s == ["AWSPENDING"])
        self.assertEqual([e["Step"] for e in self.events(v3)], ["createSecret"])
        self.assertEqual(self.stages(name), {v1: ["AWSPREVIOUS"], v2: ["AWSCURRENT"],
                                             v3: ["AWSPENDING"]})
        self.check_rotation_token(name, v3, self.events(v3)[0]["RotationToken"])
        self.assertIn("previous rotation isn't complete",
                      self.fails("InvalidRequestException", "rotate-secret", "--secret-id", name))

        self.set_failing_step(None)
        self.assertEqual(self.ok("rotate-secret", "--secret-id", name, "--client-request-token",
                                 v3)["VersionId"], v3)
        self.assertEqual([e["Step"] for e in self.events(v3)][1:],
                         ["createSecret", "setSecret", "testSecret", "finishSecret"])
        self.assertEqual(self.stages(name), {v2: ["AWSPREVIOUS"], v3: ["AWSCURRENT", "AWSPENDING"]})

    def check_rotation_token(self, name: str, version_id: str, rotation_token: str) -> None:
        """PutSecretValue's RotationToken must be the one issued for the rotation in progress;
        the value goes into the empty AWSPENDING version."""
        put = {"SecretId": name, "ClientRequestToken": version_id,
               "SecretString": json.dumps({"password": "pw-" + version_id[::-1]})}
        status, body = self.raw.call("PutSecretValue", put | {"RotationToken": "wrong"})
        self.assertEqual((status, body["__type"]), (400, "InvalidRequestException"))
        self.raw_ok("PutSecretValue", put | {"RotationToken": rotation_token,
                                             "VersionStages": ["AWSPENDING"]})

    def set_failing_step(self, step: str | None) -> None:
        path = os.path.join(self.function_dir, "fail_step")
        if step is None:
            os.remove(path)
        else:
            with open(path, "w", encoding="utf-8") as f:
                f.write(step)

    def events(self, version_id: str) -> list[dict]:
        """The rotation events the fake function received for `version_id`, in order."""
        with open(os.path.join(self.function_dir, "events.jsonl"), encoding="utf-8") as f:
            events = [json.loads(line) for line in f]
        return [e for e in events if e["ClientRequestToken"] == version_id]


class RawProtocolTest(SecretsManagerTestBase):
    """Protocol details the CLI cannot exercise: hand-made requests on one connection."""

    def test_keep_alive_and_journal(self) -> None:
        http_request("POST", self.sm.url + "/_test/requests/clear")
        name, _, v1 = self.create("raw")
        self.raw_ok("GetSecretValue", {"SecretId": name, "VersionId": v1})
        sock = self.raw.conn.sock
        status, body = self.raw.call("GetSecretValue", {"SecretId": name,
                                                        "VersionStage": "AWSPENDING"})
        self.assertEqual((status, body["__type"]), (400, "ResourceNotFoundException"))
        self.assertEqual(self.raw.last_error_header, "ResourceNotFoundException")
        self.assertIs(self.raw.conn.sock, sock, "one connection serves every request")
        journal = json.loads(http_request("GET", self.sm.url + "/_test/requests")[2])
        self.assertEqual([(e["operation"], e["secretId"], e["status"]) for e in journal], [
            ("CreateSecret", name, 200), ("GetSecretValue", name, 200),
            ("GetSecretValue", name, 400)])
        self.assertEqual((journal[1]["versionId"], journal[2]["versionStage"]), (v1, "AWSPENDING"))
        self.assertNotIn("initial", json.dumps(journal), "journal never holds values")
        with open(os.path.join(self.workdir, "sm.log"), encoding="utf-8") as f:
            self.assertNotIn("initial", f.read(), "log never holds values")

    def test_faults(self) -> None:
        name, _, _ = self.create("faults")
        http_request("POST", self.sm.url + "/_test/faults", {"operation": "GetSecretValue", "responses": [
            {"status": 500, "type": "InternalServiceError", "message": "injected"},
            {"status": 400, "type": "ThrottlingException"}, {"close": True}]})
        self.addCleanup(http_request, "POST", self.sm.url + "/_test/faults/clear")
        get = {"SecretId": name}
        self.assertEqual(self.raw.call("GetSecretValue", get)[0], 500)
        self.assertEqual(self.raw.call("DescribeSecret", get)[0], 200, "other operations unaffected")
        self.assertEqual(self.raw.call("GetSecretValue", get)[1]["__type"], "ThrottlingException")
        with self.assertRaises((http.client.RemoteDisconnected, ConnectionError)):
            self.raw.call("GetSecretValue", get)
        self.raw.conn.close()
        self.assertEqual(self.raw.call("GetSecretValue", get)[0], 200, "queue drained")
        # A fault is served only after the signature check.
        http_request("POST", self.sm.url + "/_test/faults", {"operation": "*", "responses": [
            {"status": 503, "type": "ServiceUnavailable"}]})
        status, body = self.raw.call("GetSecretValue", get, unsigned=True)
        self.assertEqual(body["__type"], "MissingAuthenticationTokenException")
        self.assertEqual(self.raw.call("GetSecretValue", get)[0], 503)

    def test_signature_edge_cases(self) -> None:
        name, _, _ = self.create("sig")
        payload = {"SecretId": name}
        cases = [
            (dict(sign_body=b'{"SecretId": "other"}'), "InvalidSignatureException"),
            (dict(amz_date="20150830T123600Z"), "InvalidSignatureException"),
            (dict(signed_headers=["content-type", "host", "x-amz-target"]),
             "InvalidSignatureException"),
            (dict(credential=sigv4_verify.Credential(TOKEN_ACCESS_KEY, TOKEN_SECRET_KEY,
                                                     "other-token")),
             "UnrecognizedClientException"),
            (dict(extra_headers=[("X-Amz-Content-Sha256", "0" * 64)]),
             "InvalidSignatureException"),
            (dict(service="sts"), "InvalidSignatureException"),
            (dict(unsigned=True, extra_headers=[("Authorization", "AWS4-HMAC-SHA256 Credential=x")]),
             "IncompleteSignatureException"),
        ]
        for kwargs, error_type in cases:
            with self.subTest(**{k: str(v) for k, v in kwargs.items()}):
                status, body = self.raw.call("DescribeSecret", payload, **kwargs)
                self.assertEqual((status, body["__type"]), (400, error_type), body)
        status, body = self.raw.call("DescribeSecret", payload, amz_date="20150830T123600Z")
        self.assertTrue(body["message"].startswith("Signature expired"))
        good = sigv4_verify.Credential(TOKEN_ACCESS_KEY, TOKEN_SECRET_KEY, SESSION_TOKEN)
        self.assertEqual(self.raw.call("DescribeSecret", payload, credential=good)[0], 200)

    def test_request_errors(self) -> None:
        name, _, _ = self.create("errors")
        checks = [
            ("DescribeSecret", b'{"SecretId": ', "SerializationException"),
            ("NoSuchOperation", {}, "UnknownOperationException"),
            ("DescribeSecret", {}, "InvalidParameterException"),
            ("DescribeSecret", {"SecretId": 5}, "SerializationException"),
            ("GetRandomPassword", {"PasswordLength": 4097}, "InvalidParameterException"),
            ("PutSecretValue", {"SecretId": name, "ClientRequestToken": str(uuid.uuid4()),
                                "SecretString": "x" * 65537}, "InvalidParameterException"),
            ("RotateSecret", {"SecretId": name}, "InvalidRequestException"),
            ("RotateSecret", {"SecretId": name, "RotationLambdaARN": FUNCTION_ARN},
             "InvalidRequestException"),  # this server has no --lambda-endpoint
            ("UpdateSecretVersionStage", {"SecretId": name, "VersionStage": "AWSCURRENT",
                                          "MoveToVersionId": str(uuid.uuid4())},
             "ResourceNotFoundException"),
        ]
        for operation, payload, error_type in checks:
            with self.subTest(operation=operation, payload=str(payload)[:80]):
                status, body = self.raw.call(operation, payload)
                self.assertEqual((status, body["__type"]), (400, error_type), body)

    def test_announces_port_and_exits_cleanly_on_sigterm(self) -> None:
        server = ServerProcess(SM_SERVER, ["--credentials", "AK:SK"], self.workdir, "extra-sm")
        self.addCleanup(server.stop)
        self.assertEqual(server.stdout(), f"listening on 127.0.0.1:{server.port}\n")
        self.assertEqual(server.stop(), 0)

    def test_binary_value_and_empty_secret(self) -> None:
        name = self.new_name("binary")
        self.raw_ok("CreateSecret", {"Name": name})
        status, body = self.raw.call("GetSecretValue", {"SecretId": name})
        self.assertIn("staging label: AWSCURRENT", body["message"])
        self.raw_ok("PutSecretValue", {"SecretId": name, "ClientRequestToken": str(uuid.uuid4()),
                                       "SecretBinary": "AAEC/w=="})
        self.assertEqual(self.raw_ok("GetSecretValue", {"SecretId": name})["SecretBinary"],
                         "AAEC/w==")


if __name__ == "__main__":
    unittest.main()
