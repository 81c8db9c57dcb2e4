"""What the adversarial suites share: the ctest fixtures' database servers, the local AWS test bed
(local/stack.py) with the real bootstrap, users, secrets, logins and tables.

Environment (ctest sets it, see adversarial.cmake):
  SECRET_ROTATOR_BOOTSTRAP           the bootstrap to run (the build's)
  SECRET_ROTATOR_MARIADB_DIR         the MariaDB fixture's folder (tests/servers/mariadb.sh)
  SECRET_ROTATOR_POSTGRES_DIR        the PostgreSQL fixture's folder (tests/servers/postgres.sh)
  SECRET_ROTATOR_TEST_OUTPUT_DIR     where logs go (kept for the leak scan); else a temp folder

Nothing here prints a password: tables and messages name users, labels and versions only.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import json
import os
import secrets
import shutil
import sys
import tempfile
import threading
from typing import Any, Iterable

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(os.path.dirname(HERE))
LOCAL_DIR = os.path.join(REPO_ROOT, "local")
sys.path.insert(0, LOCAL_DIR)
sys.path.insert(0, HERE)
import function_kill  # noqa: E402,F401  (re-exported for the suites)
import stack  # noqa: E402

CURRENT, PENDING, PREVIOUS = "AWSCURRENT", "AWSPENDING", "AWSPREVIOUS"
SINGLE_USER, ALTERNATING_USERS = stack.SINGLE_USER, stack.ALTERNATING_USERS
ENGINE_LABELS = {"mariadb": "MariaDB", "postgres": "PostgreSQL"}
STRATEGY_LABELS = {SINGLE_USER: "single user", ALTERNATING_USERS: "alternating users"}


class SuiteError(Exception):
    """The suite cannot run (a missing fixture, a test bed that does not start)."""


def bootstrap_path() -> str:
    path = os.environ.get("SECRET_ROTATOR_BOOTSTRAP", "")
    if not path or not os.access(path, os.X_OK):
        raise SuiteError("SECRET_ROTATOR_BOOTSTRAP must name the built bootstrap "
                         f"(it is {path!r})")
    return path


def database(kind: str) -> stack.DbServer:
    """The running fixture server of `kind` ("mariadb" or "postgres")."""
    variable = "SECRET_ROTATOR_MARIADB_DIR" if kind == "mariadb" else "SECRET_ROTATOR_POSTGRES_DIR"
    folder = os.environ.get(variable)
    if not folder:
        raise SuiteError(f"{variable} is not set: run through ctest, which starts the server")
    try:
        return stack.DbServer.running(kind, folder)
    except (stack.StackError, KeyError) as exc:
        raise SuiteError(f"the {kind} fixture is not running: {exc}") from None


def work_dir(name: str) -> tuple[str, bool]:
    """A new folder for one suite run's logs: (path, kept). Under SECRET_ROTATOR_TEST_OUTPUT_DIR
    it is kept for the leak scan; otherwise it is a temporary folder the caller removes."""
    base = os.environ.get("SECRET_ROTATOR_TEST_OUTPUT_DIR")
    if base:
        os.makedirs(base, exist_ok=True)
        return tempfile.mkdtemp(prefix=f"{name}-", dir=base), True
    return tempfile.mkdtemp(prefix=f"{name}-"), False


def remove_unless_kept(path: str, kept: bool) -> None:
    if not kept and not os.environ.get("KEEP_TEST_DIRS"):
        shutil.rmtree(path, ignore_errors=True)


def run_id() -> str:
    """A short random tag for user and secret names, so that runs never collide."""
    return secrets.token_hex(3)


# --------------------------------------------------------------------------- users and logins


@dataclasses.dataclass
class User:
    name: str
    password: str = dataclasses.field(repr=False)


def create_users(db: stack.DbServer, users: Iterable[User]) -> None:
    """Create login users with the admin, statement logging off for that session (their
    passwords must not reach the server's log: the leak scan reads it)."""
    statements = []
    for user in users:
        literal = user.password.replace("\\", "\\\\").replace("'", "''")
        if db.kind == "mariadb":
            statements.append(f"CREATE USER '{user.name}'@'%' IDENTIFIED BY '{literal}';")
            statements.append(f"GRANT SELECT ON adversarial.* TO '{user.name}'@'%';")
        else:
            statements.append(f'CREATE ROLE "{user.name}" LOGIN PASSWORD \'{literal}\';')
    if db.kind == "mariadb":
        statements.insert(0, "CREATE DATABASE IF NOT EXISTS adversarial;")
    db.admin_sql("\n".join(statements))


class UserPool:
    """Fresh users made in batches (one admin client per batch)."""

    def __init__(self, db: stack.DbServer, prefix: str, batch: int = 12):
        self.db, self.prefix, self.batch = db, prefix, batch
        self._ready: list[User] = []
        self._made = 0

    def take(self) -> User:
        if not self._ready:
            made = [User(f"{self.prefix}{self._made + i + 1}", stack.new_password())
                    for i in range(self.batch)]
            create_users(self.db, made)
            self._made += len(made)
            self._ready = made
        return self._ready.pop(0)


_LOGIN_POOL = concurrent.futures.ThreadPoolExecutor(4)


def logins(db: stack.DbServer, credentials: list[tuple[str, str] | None]) -> list[bool | None]:
    """For each (user, password): True iff it logs in directly to the server (verified TLS), False
    iff the server refuses it; None entries stay None. Other errors raise StackError."""
    futures = [None if c is None else _LOGIN_POOL.submit(db.login, c[0], c[1])
               for c in credentials]
    return [None if f is None else f.result() for f in futures]


# --------------------------------------------------------------------------- the local AWS


class Aws:
    """The local Secrets Manager and Lambda service (stack.LocalAws) running the real bootstrap,
    with the calls the suites make."""

    def __init__(self, folder: str, function_env: dict[str, str], timeout_s: int = 60):
        try:
            self.local = stack.LocalAws(folder, bootstrap_path(), function_env, timeout_s)
        except stack.StackError as exc:
            raise SuiteError(f"the local AWS test bed did not start: {exc}") from None
        self._lock = threading.Lock()

    def close(self) -> None:
        self.local.stop()

    def call(self, operation: str, **params: Any) -> dict[str, Any]:
        """One signed Secrets Manager request; StackError carries AWS's error."""
        with self._lock:
            try:
                return self.local.api.call(operation, **params)
            except (ConnectionError, OSError):
                # A kept-alive connection the endpoint closed: once more on a new one.
                self.local.api.close()
                self.local.api = stack.SecretsManagerApi(
                    self.local.secrets_manager_port, self.local.access_key,
                    self.local.secret_key)
                return self.local.api.call(operation, **params)

    def create_secret(self, name: str, document: dict[str, Any]) -> str:
        return self.call("CreateSecret", Name=name, SecretString=json.dumps(document))["ARN"]

    def rotate(self, arn: str, token: str | None = None) -> str | None:
        """RotateSecret (synchronous locally); None on success, else AWS's error text."""
        params: dict[str, Any] = {"SecretId": arn, "RotationLambdaARN": stack.FUNCTION_ARN}
        if token:
            params["ClientRequestToken"] = token
        try:
            self.call("RotateSecret", **params)
        except stack.StackError as exc:
            return str(exc)
        return None

    def versions(self, arn: str) -> dict[str, list[str]]:
        """version id -> its staging labels (versions without labels left out)."""
        answer = self.call("ListSecretVersionIds", SecretId=arn)
        return {v["VersionId"]: sorted(v.get("VersionStages", [])) for v in answer["Versions"]
                if v.get("VersionStages")}

    def value(self, arn: str, stage: str) -> dict[str, Any] | None:
        """The JSON document at `stage`, or None if no version with a value holds it."""
        try:
            answer = self.call("GetSecretValue", SecretId=arn, VersionStage=stage)
        except stack.StackError as exc:
            if "ResourceNotFoundException" in str(exc):
                return None
            raise
        return json.loads(answer["SecretString"])


def label_holders(versions: dict[str, list[str]]) -> tuple[dict[str, list[str]], dict[str, str]]:
    """({label: [versions holding it]}, {label: the one version, where there is exactly one})."""
    holders: dict[str, list[str]] = {}
    for version, stages in versions.items():
        for stage in stages:
            holders.setdefault(stage, []).append(version)
    return holders, {stage: ids[0] for stage, ids in holders.items() if len(ids) == 1}


# --------------------------------------------------------------------------- output


def table(headers: list[str], rows: list[list[Any]]) -> str:
    """A plain text table: columns padded, numbers right-aligned."""
    cells = [[str(c) for c in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

    def line(row: list[str], raw: list[Any]) -> str:
        parts = []
        for i, cell in enumerate(row):
            numeric = isinstance(raw[i], (int, float)) and not isinstance(raw[i], bool)
            parts.append(cell.rjust(widths[i]) if numeric else cell.ljust(widths[i]))
        return "  ".join(parts).rstrip()

    out = [line(cells[0], headers), "  ".join("-" * w for w in widths)]
    out += [line(cells[i + 1], rows[i]) for i in range(len(rows))]
    return "\n".join(out)
