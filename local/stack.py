#!/usr/bin/env python3
"""Building blocks for the local demo (demo.sh, local/demo.py) and the benchmarks (bench/).

A "stack" is everything a rotation needs on this machine, on 127.0.0.1 only, inside one work
folder:
  - a throwaway CA and server certificate (tests/servers/make_tls.sh),
  - the Lambda package built from a bootstrap (packaging/package.sh) and unpacked, so that the
    real artifact runs,
  - private MariaDB and PostgreSQL servers (tests/servers/mariadb.sh, postgres.sh),
  - the local Secrets Manager endpoint and the local Lambda service, wired to each other
    (local/secretsmanager_server.py, local/lambda_runtime_server.py),
  - the real AWS CLI pointed at that endpoint, and a small signed client for timing.

Passwords never reach a command line, a log line or the terminal: database clients get them in
MYSQL_PWD / PGPASSWORD, the AWS CLI reads secret values from a private temporary file, and SQL that
holds one goes to the client's stdin with the server's statement logging turned off for that
session.

Python standard library only. `python3 local/stack.py cleanup DIR` stops whatever a crashed run
left running in DIR (demo.sh's safety net).
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import http.client
import json
import os
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request
import zipfile
from typing import Any, Iterable

LOCAL_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(LOCAL_DIR)
SERVERS_DIR = os.path.join(REPO_ROOT, "tests", "servers")
sys.path.insert(0, LOCAL_DIR)
import sigv4_verify  # noqa: E402  (sibling module)

AWS_CLI = os.environ.get("AWS_CLI", "/usr/bin/aws")
REGION = "us-east-1"
ACCOUNT = "123456789012"
FUNCTION_NAME = "rotator"
FUNCTION_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{FUNCTION_NAME}"
ROTATION_STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")
SINGLE_USER, ALTERNATING_USERS = "single-user", "alternating-users"
# The four engine/strategy pairs the demo and the benchmark rotate.
CASES = (("mariadb", SINGLE_USER), ("mariadb", ALTERNATING_USERS),
         ("postgres", SINGLE_USER), ("postgres", ALTERNATING_USERS))

STARTUP_TIMEOUT_S = 20
PG_BIN = "/usr/lib/postgresql/15/bin"


class StackError(Exception):
    """A step of setting up or using the stack failed; the message says which and why."""


def new_password() -> str:
    """A random password for a database user (URL-safe characters, 32 of them)."""
    return secrets.token_urlsafe(24)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def client_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """A small environment for client programs: no inherited AWS_*, MYSQL_* or PG* settings
    (a user's profile or PGSERVICE must not change what the stack does), plus `extra`."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("AWS_", "MYSQL_", "PG"))}
    env.update(extra or {})
    return env


def run(argv: list[str], *, env: dict[str, str] | None = None, stdin: str | None = None,
        log: str | None = None) -> subprocess.CompletedProcess:
    """Run a command to completion in its own session (so a Ctrl-C reaches only the caller, which
    then stops things in order). Output is captured, or appended to `log`. Never raises for a
    non-zero exit status: the caller decides."""
    if log:
        with open(log, "ab") as out:
            return subprocess.run(argv, env=env, input=stdin, stdout=out, stderr=out,
                                  text=stdin is not None, start_new_session=True)
    return subprocess.run(argv, env=env, input=stdin, capture_output=True, text=True,
                          start_new_session=True)


def tail(path: str, lines: int = 15) -> str:
    """The last `lines` lines of a text file ("" if it does not exist)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError:
        return ""


def median(values: Iterable[float]) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


# --------------------------------------------------------------------------- TLS and the package


def make_tls(tls_dir: str) -> str:
    """Create the throwaway CA and the 127.0.0.1 server certificate in `tls_dir` (idempotent);
    return the CA file."""
    result = run(["bash", os.path.join(SERVERS_DIR, "make_tls.sh"), tls_dir])
    if result.returncode != 0:
        raise StackError(f"make_tls.sh failed: {result.stderr.strip()}")
    return os.path.join(os.path.abspath(tls_dir), "ca.pem")


def build_package(binary: str, output: str, db_ca_bundle: str | None = None) -> str:
    """Build the Lambda zip from `binary` with packaging/package.sh (optionally shipping
    `db_ca_bundle` as the function's default database CA); return package.sh's summary line."""
    argv = [os.path.join(REPO_ROOT, "packaging", "package.sh"), "--binary", binary,
            "--output", output]
    if db_ca_bundle:
        argv += ["--db-ca-bundle", db_ca_bundle]
    result = run(argv)
    if result.returncode != 0:
        raise StackError(f"packaging/package.sh failed:\n{result.stdout}{result.stderr}")
    lines = [line for line in result.stdout.splitlines() if line.startswith("package:")]
    return lines[-1] if lines else ""


def unpack_package(zip_path: str, dest: str) -> str:
    """Unzip the Lambda package into `dest`, keeping the files' modes as Lambda does; return the
    path of its bootstrap."""
    with zipfile.ZipFile(zip_path) as archive:
        for info in archive.infolist():
            path = archive.extract(info, dest)
            mode = (info.external_attr >> 16) & 0o777
            if mode:
                os.chmod(path, mode)
    bootstrap = os.path.join(dest, "bootstrap")
    if not os.access(bootstrap, os.X_OK):
        raise StackError(f"{zip_path} has no executable bootstrap at its root")
    return bootstrap


def package_contents(zip_path: str) -> list[str]:
    """The file names in the Lambda zip."""
    with zipfile.ZipFile(zip_path) as archive:
        return archive.namelist()


# --------------------------------------------------------------------------- databases


@dataclasses.dataclass
class DbServer:
    """A private MariaDB or PostgreSQL server started by tests/servers/<kind>.sh, TLS on, with
    an admin user that may create users. `kind` is "mariadb" or "postgres"."""

    kind: str
    dir: str
    host: str
    port: int
    admin_user: str
    admin_password: str = dataclasses.field(repr=False)
    ca: str
    version: str = ""

    @property
    def script(self) -> str:
        return os.path.join(SERVERS_DIR, f"{self.kind}.sh")

    @property
    def label(self) -> str:
        """MariaDB or PostgreSQL."""
        return "MariaDB" if self.kind == "mariadb" else "PostgreSQL"

    @property
    def engine(self) -> str:
        """The secret's "engine" field for this server."""
        return self.kind

    @classmethod
    def start(cls, kind: str, server_dir: str, tls_dir: str) -> DbServer:
        """Start the server in `server_dir` (certificates from `tls_dir`) and read its
        server.env. Raises StackError with the script's output if it fails."""
        script = os.path.join(SERVERS_DIR, f"{kind}.sh")
        os.makedirs(server_dir, exist_ok=True)
        log = os.path.join(server_dir, "start.log")
        if run(["bash", script, "start", server_dir, tls_dir], log=log).returncode != 0:
            raise StackError(f"{kind}.sh start failed:\n{tail(log, 30)}")
        env = read_env_file(os.path.join(server_dir, "server.env"))
        prefix = "MARIADB_" if kind == "mariadb" else "PG_"
        server = cls(kind=kind, dir=os.path.abspath(server_dir), host=env[prefix + "HOST"],
                     port=int(env[prefix + "PORT"]), admin_user=env[prefix + "ADMIN_USER"],
                     admin_password=env[prefix + "ADMIN_PASSWORD"], ca=env[prefix + "CA"])
        server.version = server.admin_sql(
            "SELECT VERSION()" if kind == "mariadb" else "SHOW server_version").strip()
        if kind == "mariadb":
            server.version = server.version.split("-")[0]
        return server

    @classmethod
    def running(cls, kind: str, server_dir: str) -> DbServer:
        """The `kind` server already running in `server_dir` (a ctest fixture), from its
        server.env. Raises StackError if there is none."""
        path = os.path.join(server_dir, "server.env")
        try:
            env = read_env_file(path)
        except OSError as exc:
            raise StackError(f"no {kind} server runs in {server_dir}: {exc}") from None
        prefix = "MARIADB_" if kind == "mariadb" else "PG_"
        return cls(kind=kind, dir=os.path.abspath(server_dir), host=env[prefix + "HOST"],
                   port=int(env[prefix + "PORT"]), admin_user=env[prefix + "ADMIN_USER"],
                   admin_password=env[prefix + "ADMIN_PASSWORD"], ca=env[prefix + "CA"])

    def stop(self) -> None:
        """Stop the server (idempotent)."""
        stop_db_server(self.kind, self.dir)

    # -- clients

    def _client(self, user: str, password: str, database: str | None = None,
                query: str | None = None) -> tuple[list[str], dict[str, str]]:
        """argv and environment of the command-line client logging in as `user` over TLS with
        full verification; the password travels in the environment only. Without `query` the
        client reads SQL from stdin."""
        if self.kind == "mariadb":
            argv = ["mariadb", "--no-defaults", "--protocol=tcp", f"--host={self.host}",
                    f"--port={self.port}", f"--user={user}", f"--ssl-ca={self.ca}",
                    "--ssl-verify-server-cert", "--connect-timeout=5", "--batch",
                    "--skip-column-names"]
            if database:
                argv.append(f"--database={database}")
            if query is not None:
                argv += ["--execute", query]
            return argv, client_env({"MYSQL_PWD": password})
        psql = os.path.join(PG_BIN, "psql")
        conninfo = (f"host={self.host} port={self.port} user={user} "
                    f"dbname={database or 'postgres'} sslmode=verify-full sslrootcert={self.ca} "
                    "connect_timeout=5")
        argv = [psql if os.access(psql, os.X_OK) else "psql", "-X", "-q", "-A", "-t", "-w",
                "-v", "ON_ERROR_STOP=1", conninfo]
        argv += ["-c", query] if query is not None else ["-f", "-"]
        return argv, client_env({"PGPASSWORD": password, "PGAPPNAME": "stack.py"})

    def admin_sql(self, sql: str) -> str:
        """Run `sql` as the admin user (through stdin, not the command line); return stdout.

        Statement logging is off for this session, so SQL that holds a password does not reach
        the server's general log (MariaDB) or statement log (PostgreSQL)."""
        quiet = ("SET SESSION sql_log_off = 1;\n" if self.kind == "mariadb"
                 else "SET log_statement = 'none';\n")
        argv, env = self._client(self.admin_user, self.admin_password)
        result = run(argv, env=env, stdin=quiet + sql + "\n")
        if result.returncode != 0:
            raise StackError(f"{self.label} admin SQL failed: {result.stderr.strip()}")
        return result.stdout

    def login(self, user: str, password: str) -> bool:
        """True iff `user` logs in with `password` over verified TLS and runs a query; False iff
        the server refuses the password. Anything else (TLS, connection) raises StackError."""
        argv, env = self._client(user, password, query="SELECT 1")
        result = run(argv, env=env)
        if result.returncode == 0:
            return True
        refused = ("ERROR 1045" in result.stderr if self.kind == "mariadb"
                   else "password authentication failed" in result.stderr)
        if refused:
            return False
        raise StackError(f"{self.label} login as {user} failed unexpectedly: "
                         f"{result.stderr.strip()}")

    def create_user(self, user: str, password: str) -> None:
        """Create a login user with some privileges of its own (alternating users copy them):
        MariaDB: ALL on database `demo`; PostgreSQL: owner of schema <user>."""
        literal = password.replace("\\", "\\\\").replace("'", "''")
        if self.kind == "mariadb":
            self.admin_sql(f"CREATE DATABASE IF NOT EXISTS demo;\n"
                           f"CREATE USER '{user}'@'%' IDENTIFIED BY '{literal}';\n"
                           f"GRANT ALL PRIVILEGES ON demo.* TO '{user}'@'%';")
        else:
            self.admin_sql(f'CREATE ROLE "{user}" LOGIN PASSWORD \'{literal}\';\n'
                           f'CREATE SCHEMA "{user}" AUTHORIZATION "{user}";')

    def secret(self, user: str, password: str, **fields: Any) -> dict[str, Any]:
        """A secret document in the format of AWS's rotation functions for `user` here."""
        document = {"engine": self.engine, "host": self.host, "port": self.port,
                    "username": user, "password": password}
        if self.kind == "postgres":
            document["dbname"] = "postgres"
        document.update(fields)
        return document


def read_env_file(path: str) -> dict[str, str]:
    """KEY=VALUE lines of a server.env file."""
    values = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            key, sep, value = line.rstrip("\n").partition("=")
            if sep:
                values[key] = value
    return values


def stop_db_server(kind: str, server_dir: str) -> None:
    """Stop the `kind` server in `server_dir` if one runs there (idempotent)."""
    if os.path.isdir(server_dir):
        run(["bash", os.path.join(SERVERS_DIR, f"{kind}.sh"), "stop", server_dir],
            log=os.path.join(server_dir, "stop.log"))


def start_db_servers(work_dir: str, tls_dir: str,
                     kinds: Iterable[str] = ("mariadb", "postgres")) -> dict[str, DbServer]:
    """Start one server per kind in `work_dir`/<kind>, in parallel; {kind: server}. If any fails
    to start, the others are stopped and StackError is raised."""
    kinds = list(kinds)
    with concurrent.futures.ThreadPoolExecutor(len(kinds)) as pool:
        futures = {kind: pool.submit(DbServer.start, kind, os.path.join(work_dir, kind), tls_dir)
                   for kind in kinds}
        concurrent.futures.wait(futures.values())
    failures = [str(f.exception()) for f in futures.values() if f.exception()]
    if failures:
        for kind in kinds:
            stop_db_server(kind, os.path.join(work_dir, kind))
        raise StackError("\n".join(failures))
    return {kind: future.result() for kind, future in futures.items()}


# --------------------------------------------------------------------------- AWS


class AwsCli:
    """The real AWS CLI pointed at the local Secrets Manager endpoint, with the stack's
    credentials and no user configuration (AWS_CONFIG_FILE=/nonexistent and so on)."""

    def __init__(self, endpoint: str, access_key: str, secret_key: str, work_dir: str,
                 ca_file: str | None = None):
        self.endpoint = endpoint
        self.work_dir = work_dir
        self.env = client_env({
            "AWS_ACCESS_KEY_ID": access_key, "AWS_SECRET_ACCESS_KEY": secret_key,
            "AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
            "AWS_PAGER": "", "AWS_MAX_ATTEMPTS": "1", "AWS_RETRY_MODE": "standard"})
        if ca_file:
            self.env["AWS_CA_BUNDLE"] = ca_file

    def argv(self, *args: str) -> list[str]:
        return [AWS_CLI, "--endpoint-url", self.endpoint, "--region", REGION,
                "--output", "json", *args]

    def __call__(self, *args: str) -> dict[str, Any]:
        """Run `aws ARGS...` and return its JSON output ({} if none). Raises StackError with the
        CLI's error message (which never holds a secret value) on failure."""
        result = run(self.argv(*args), env=self.env)
        if result.returncode != 0:
            message = result.stderr.strip().splitlines()
            raise StackError(message[-1] if message else f"aws exited with {result.returncode}")
        return json.loads(result.stdout) if result.stdout.strip() else {}

    def with_value_file(self, value: dict[str, Any], *args: str) -> dict[str, Any]:
        """Run `aws ARGS... --secret-string file://F` where F privately holds `value` as JSON,
        so the secret value is never on a command line."""
        fd, path = tempfile.mkstemp(dir=self.work_dir, suffix=".json")  # mode 0600
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(value, f)
            return self(*args, "--secret-string", f"file://{path}")
        finally:
            os.unlink(path)


class SecretsManagerApi:
    """A minimal SigV4-signed JSON client for the local Secrets Manager endpoint, with a kept-
    alive connection: for timing a RotateSecret call without the AWS CLI's start-up time."""

    def __init__(self, port: int, access_key: str, secret_key: str, ca_file: str | None = None):
        self.port = port
        self.credential = sigv4_verify.Credential(access_key, secret_key)
        if ca_file:
            context = ssl.create_default_context(cafile=ca_file)
            self.connection = http.client.HTTPSConnection("127.0.0.1", port, timeout=120,
                                                          context=context)
        else:
            self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

    def call(self, operation: str, **params: Any) -> dict[str, Any]:
        """Send one operation; return the answer, or raise StackError with AWS's error type and
        message."""
        body = json.dumps(params).encode()
        headers = sigv4_verify.sign_request(
            "POST", "/", [("Host", f"127.0.0.1:{self.port}"),
                          ("Content-Type", "application/x-amz-json-1.1"),
                          ("X-Amz-Target", f"secretsmanager.{operation}")],
            body, self.credential, REGION, "secretsmanager")
        self.connection.putrequest("POST", "/", skip_host=True, skip_accept_encoding=True)
        for name, value in headers:
            self.connection.putheader(name, value)
        self.connection.putheader("Content-Length", str(len(body)))
        self.connection.endheaders(body)
        response = self.connection.getresponse()
        answer = json.loads(response.read() or b"{}")
        if response.status != 200:
            raise StackError(f"{operation}: {answer.get('__type')}: {answer.get('message')}")
        return answer

    def close(self) -> None:
        self.connection.close()


@dataclasses.dataclass
class Rotation:
    """The outcome of one RotateSecret call."""

    ok: bool
    wall_ms: float  # around the call (the AWS CLI's own start-up included when it made it)
    steps: dict[str, float]  # step → its invocation's duration in the Lambda service, in ms
    error: str | None = None
    version_id: str | None = None

    @property
    def steps_ms(self) -> float:
        return sum(self.steps.values())


class LocalAws:
    """The local Secrets Manager endpoint and the local Lambda service running `bootstrap`, wired
    to each other, with their logs and pid files in `work_dir`.

    The function runs with --clean-env: its environment is only the Lambda variables, the region,
    its own credentials (`function_access_key`, so that the endpoint can tell its requests from
    the caller's), SECRETS_MANAGER_ENDPOINT and `function_env`. With `tls_dir` (a make_tls()
    folder), Secrets Manager serves HTTPS with that folder's server certificate; the function is
    then told nothing about its CA: `function_env` says what it trusts.
    """

    def __init__(self, work_dir: str, bootstrap: str,
                 function_env: dict[str, str] | None = None, timeout_s: int = 30,
                 tls_dir: str | None = None):
        self.work_dir = os.path.abspath(work_dir)
        os.makedirs(self.work_dir, exist_ok=True)
        self.access_key = "AKIDLOCALSTACK"
        self.secret_key = secrets.token_urlsafe(30)  # a throwaway, for this run's signatures
        self.function_access_key = "AKIDLOCALFUNCTION"
        self.function_secret_key = secrets.token_urlsafe(30)
        self.processes: list[subprocess.Popen] = []
        self.function_log = os.path.join(self.work_dir, "function.log")
        self.tls_dir = os.path.abspath(tls_dir) if tls_dir else None
        ca_file = os.path.join(self.tls_dir, "ca.pem") if self.tls_dir else None
        try:
            self._start(os.path.abspath(bootstrap), function_env or {}, timeout_s)
        except BaseException:
            self.stop()
            raise
        self.cli = AwsCli(self.secrets_manager_url, self.access_key, self.secret_key,
                          self.work_dir, ca_file)
        self.api = SecretsManagerApi(self.secrets_manager_port, self.access_key, self.secret_key,
                                     ca_file)

    def operator(self, bootstrap: str, *args: str) -> subprocess.CompletedProcess:
        """Run an operator command of `bootstrap` (check, status, rotate) as the caller, against
        this Secrets Manager endpoint; its output is also appended to operator.log."""
        env = client_env({"AWS_ACCESS_KEY_ID": self.access_key,
                          "AWS_SECRET_ACCESS_KEY": self.secret_key, "AWS_REGION": REGION,
                          "SECRETS_MANAGER_ENDPOINT": self.secrets_manager_url,
                          "RDS_ENDPOINT": self.secrets_manager_url})
        if self.tls_dir:
            env["AWS_CA_BUNDLE"] = os.path.join(self.tls_dir, "ca.pem")
        result = run([bootstrap, *args], env=env)
        with open(os.path.join(self.work_dir, "operator.log"), "a", encoding="utf-8") as log:
            log.write(f"$ bootstrap {' '.join(args)}\n[exit {result.returncode}]\n"
                      f"{result.stdout}{result.stderr}\n")
        return result

    def _spawn(self, name: str, argv: list[str]) -> str:
        """Start server `name`; wait for its port file; return its port."""
        port_file = os.path.join(self.work_dir, f"{name}.port")
        log = os.path.join(self.work_dir, f"{name}.log")
        with open(log, "ab") as out:
            process = subprocess.Popen([sys.executable, *argv, "--port-file", port_file],
                                       stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                       start_new_session=True, env=client_env())
        self.processes.append(process)
        with open(os.path.join(self.work_dir, f"{name}.pid"), "w", encoding="utf-8") as f:
            f.write(str(process.pid))
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            if os.path.exists(port_file):
                with open(port_file, encoding="utf-8") as f:
                    text = f.read().strip()
                if text:
                    return text
            if process.poll() is not None:
                break
            time.sleep(0.02)
        raise StackError(f"{name} did not start:\n{tail(log)}")

    def _start(self, bootstrap: str, function_env: dict[str, str], timeout_s: int) -> None:
        # The function must know Secrets Manager's address before the Lambda service starts
        # it, and Secrets Manager must know the Lambda service's: pick Secrets Manager's first.
        self.secrets_manager_port = free_port()
        scheme = "https" if self.tls_dir else "http"
        self.secrets_manager_url = f"{scheme}://127.0.0.1:{self.secrets_manager_port}"
        env = {"AWS_ACCESS_KEY_ID": self.function_access_key,
               "AWS_SECRET_ACCESS_KEY": self.function_secret_key,
               "SECRETS_MANAGER_ENDPOINT": self.secrets_manager_url,
               "RDS_ENDPOINT": self.secrets_manager_url, **function_env}
        lambda_argv = [os.path.join(LOCAL_DIR, "lambda_runtime_server.py"),
                       "--bootstrap", bootstrap, "--function-name", FUNCTION_NAME,
                       "--region", REGION, "--account", ACCOUNT, "--timeout", str(timeout_s),
                       "--child-log", self.function_log, "--clean-env"]
        for key, value in env.items():
            lambda_argv += ["--env", f"{key}={value}"]
        self.lambda_url = f"http://127.0.0.1:{self._spawn('lambda', lambda_argv)}"
        tls_args = []
        if self.tls_dir:
            tls_args = ["--tls-cert", os.path.join(self.tls_dir, "server.pem"),
                        "--tls-key", os.path.join(self.tls_dir, "server.key")]
        self._spawn("secretsmanager", [
            os.path.join(LOCAL_DIR, "secretsmanager_server.py"),
            "--port", str(self.secrets_manager_port), "--region", REGION, "--account", ACCOUNT,
            "--credentials", f"{self.access_key}:{self.secret_key}",
            "--credentials", f"{self.function_access_key}:{self.function_secret_key}",
            "--lambda-endpoint", self.lambda_url, *tls_args])

    def stop(self) -> None:
        """Stop both servers (the Lambda service kills the function when it stops)."""
        if getattr(self, "api", None):
            self.api.close()
        for process in reversed(self.processes):
            stop_process(process.pid, process)
        self.processes.clear()
        for name in ("lambda", "secretsmanager"):
            pid_file = os.path.join(self.work_dir, f"{name}.pid")
            if os.path.exists(pid_file):
                os.unlink(pid_file)

    # -- secrets

    def create_secret(self, name: str, value: dict[str, Any],
                      tags: dict[str, str] | None = None) -> tuple[str, str]:
        """Create secret `name` holding `value` (and `tags`) with the AWS CLI; (ARN, first
        version id)."""
        extra = ["--tags", json.dumps([{"Key": k, "Value": v} for k, v in tags.items()])] \
            if tags else []
        answer = self.cli.with_value_file(value, "secretsmanager", "create-secret",
                                          "--name", name, *extra)
        return answer["ARN"], answer["VersionId"]

    def configure_rds(self, spec: dict[str, Any]) -> None:
        """The RDS instances and clusters the local RDS endpoint describes (/_test/rds:
        {"instances": [...], "clusters": [...]}, local/README.md)."""
        self._control("POST", "/_test/rds", spec)

    def secret_value(self, secret_id: str, stage: str = "AWSCURRENT") -> dict[str, Any]:
        """The JSON document at staging label `stage`, read with the AWS CLI."""
        answer = self.cli("secretsmanager", "get-secret-value", "--secret-id", secret_id,
                          "--version-stage", stage)
        return json.loads(answer["SecretString"])

    def stages(self, secret_id: str) -> dict[str, str]:
        """{staging label: version id}, read with the AWS CLI (list-secret-version-ids)."""
        answer = self.cli("secretsmanager", "list-secret-version-ids", "--secret-id", secret_id)
        return {stage: version["VersionId"] for version in answer["Versions"]
                for stage in version.get("VersionStages", [])}

    def rotate(self, secret_id: str, via_cli: bool = True, token: str | None = None) -> Rotation:
        """Rotate `secret_id` now with the function, through `aws secretsmanager rotate-secret`
        (or a signed RotateSecret request when not `via_cli`). The local endpoint answers once
        the four steps have run; each step's duration comes from the Lambda service."""
        before = len(self.stats()["invocations"])
        started = time.perf_counter()
        error, version_id = None, None
        try:
            if via_cli:
                extra = ["--client-request-token", token] if token else []
                answer = self.cli("secretsmanager", "rotate-secret", "--secret-id", secret_id,
                                  "--rotation-lambda-arn", FUNCTION_ARN, *extra)
            else:
                extra = {"ClientRequestToken": token} if token else {}
                answer = self.api.call("RotateSecret", SecretId=secret_id,
                                       RotationLambdaARN=FUNCTION_ARN, **extra)
            version_id = answer.get("VersionId")
        except StackError as exc:
            error = str(exc)
        wall_ms = (time.perf_counter() - started) * 1000
        invocations = self.stats()["invocations"][before:]
        steps = {step: inv["durationMs"] for step, inv in zip(ROTATION_STEPS, invocations)}
        return Rotation(ok=error is None, wall_ms=wall_ms, steps=steps, error=error,
                        version_id=version_id)

    # -- test controls

    def _control(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.secrets_manager_url + path, data=data,
                                         method=method)
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"null")

    def arm_kill(self, call: int, when: str) -> None:
        """Make the function's `call`th Secrets Manager request from now kill it, "before" or
        "after" the endpoint applies it (local/README.md, /_test/kill)."""
        self._control("POST", "/_test/kill", {"call": call, "when": when,
                                               "accessKey": self.function_access_key})

    def kill_status(self) -> dict[str, Any]:
        """{"armed", "seen", "fired", "error"} of the kill fault."""
        return self._control("GET", "/_test/kill")

    def clear_kill(self) -> None:
        self._control("POST", "/_test/kill/clear", {})

    def invoke(self, event: dict[str, Any]) -> tuple[bool, dict[str, Any]]:
        """Invoke the function once through the Lambda Invoke API: (ok, response document)."""
        request = urllib.request.Request(
            f"{self.lambda_url}/2015-03-31/functions/{FUNCTION_NAME}/invocations",
            data=json.dumps(event).encode(), method="POST")
        with urllib.request.urlopen(request, timeout=300) as response:
            body = json.loads(response.read() or b"{}")
            return not response.headers.get("X-Amz-Function-Error"), body

    # -- the function

    def stats(self) -> dict[str, Any]:
        """The Lambda service's GET /_test/stats: starts, invocations (durationMs), firstNextMs,
        childPid."""
        with urllib.request.urlopen(self.lambda_url + "/_test/stats", timeout=10) as response:
            return json.loads(response.read())

    def function_log_size(self) -> int:
        """The size of the function's log now (an offset for function_log_lines)."""
        try:
            return os.path.getsize(self.function_log)
        except OSError:
            return 0

    def function_log_lines(self, offset: int = 0) -> list[str]:
        """The function's log lines written after byte `offset` (its logs hold no secret
        values: the safety rules in docs/architecture.md)."""
        try:
            with open(self.function_log, "rb") as f:
                f.seek(offset)
                return f.read().decode("utf-8", "replace").splitlines()
        except OSError:
            return []

    def function_memory_kib(self) -> dict[str, int]:
        """{"VmHWM": peak RSS, "VmRSS": current RSS} of the running function process, in KiB
        (from /proc/<pid>/status); {} when no function process runs."""
        pid = self.stats().get("childPid")
        if not pid:
            return {}
        values = {}
        with open(f"/proc/{pid}/status", encoding="utf-8") as f:
            for line in f:
                key, _, rest = line.partition(":")
                if key in ("VmHWM", "VmRSS"):
                    values[key] = int(rest.split()[0])
        return values


def stop_process(pid: int, process: subprocess.Popen | None = None, grace_s: float = 5) -> None:
    """SIGTERM process `pid` (a server this module started), wait up to `grace_s`, then SIGKILL
    it. With `process` (our own child) it is also reaped."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        if process is not None:
            if process.poll() is not None:
                return
        else:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
        time.sleep(0.05)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    if process is not None:
        process.wait()


# --------------------------------------------------------------------------- the cases


@dataclasses.dataclass
class Case:
    """One engine/strategy pair set up for rotation: a database user and its secret (plus, for
    alternating users, the admin secret its masterarn names)."""

    db: DbServer
    strategy: str
    user: str
    secret_name: str
    arn: str
    first_version: str

    @property
    def title(self) -> str:
        return case_title(self.db, self.strategy)


def case_title(db: DbServer, strategy: str) -> str:
    """"MariaDB, single user" and the like."""
    return f"{db.label}, {'single user' if strategy == SINGLE_USER else 'alternating users'}"


def set_up_case(db: DbServer, strategy: str, aws: LocalAws, prefix: str = "demo",
                rds_managed_admin: bool = False) -> Case:
    """Create a database user with a random password and, with the AWS CLI, its secret
    `<prefix>/<engine>/<strategy>`; for alternating users also the admin secret
    `<prefix>/<engine>/admin` (created once) that the secret's masterarn names. With
    `rds_managed_admin`, that admin secret is shaped as RDS manages it: only a username and a
    password, and the tag aws:rds:primaryDBInstanceArn naming an instance that the local RDS
    endpoint describes with the server's engine, host and port."""
    user = f"app_{'single' if strategy == SINGLE_USER else 'alt'}"
    password = new_password()
    db.create_user(user, password)
    fields: dict[str, Any] = {"rotationStrategy": strategy}
    if strategy == ALTERNATING_USERS:
        admin_name = f"{prefix}/{db.engine}/admin"
        admin_value = db.secret(db.admin_user, db.admin_password)
        tags = None
        if rds_managed_admin:
            instance = f"{prefix}-{db.engine}"
            aws.configure_rds({"instances": [{"identifier": instance, "engine": db.engine,
                                              "address": db.host, "port": db.port}]})
            admin_value = {"username": db.admin_user, "password": db.admin_password}
            tags = {"aws:rds:primaryDBInstanceArn":
                    f"arn:aws:rds:{REGION}:{ACCOUNT}:db:{instance}"}
        try:
            admin_arn, _ = aws.create_secret(admin_name, admin_value, tags)
        except StackError as exc:
            if "ResourceExists" not in str(exc):
                raise
            admin_arn = aws.cli("secretsmanager", "describe-secret",
                                "--secret-id", admin_name)["ARN"]
        fields["masterarn"] = admin_arn
    name = f"{prefix}/{db.engine}/{strategy}"
    arn, version = aws.create_secret(name, db.secret(user, password, **fields))
    return Case(db=db, strategy=strategy, user=user, secret_name=name, arn=arn,
                first_version=version)


# --------------------------------------------------------------------------- cleanup


def cleanup(work_dir: str) -> None:
    """Stop whatever a run left running in `work_dir`: the local AWS servers (by the pid files
    LocalAws writes, anywhere below `work_dir`) and the database servers (by their folders).
    Idempotent; used by demo.sh's EXIT trap as a safety net."""
    if not os.path.isdir(work_dir):
        return
    for root, _, files in os.walk(work_dir):
        for name in files:
            if name in ("lambda.pid", "secretsmanager.pid"):
                path = os.path.join(root, name)
                try:
                    with open(path, encoding="utf-8") as f:
                        pid = int(f.read().strip())
                except (OSError, ValueError):
                    continue
                if _is_our_server(pid):
                    stop_process(pid)
                os.unlink(path)
    for root, _, files in os.walk(work_dir):
        if "mariadbd.pid" in files:
            stop_db_server("mariadb", root)
        if os.path.exists(os.path.join(root, "data", "postmaster.pid")):
            stop_db_server("postgres", root)


def _is_our_server(pid: int) -> bool:
    """True iff `pid` runs one of local/'s servers (a pid file may be stale and reused)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmdline = f.read()
    except OSError:
        return False
    return any(name in cmdline for name in (b"lambda_runtime_server.py",
                                            b"secretsmanager_server.py"))


def remove_tree(path: str) -> None:
    """rm -rf `path`."""
    shutil.rmtree(path, ignore_errors=True)


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "cleanup":
        cleanup(argv[1])
        return 0
    print("usage: python3 local/stack.py cleanup DIR", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
