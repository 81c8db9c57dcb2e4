#!/usr/bin/env python3
"""A local AWS Secrets Manager stand-in (JSON 1.1 protocol) for tests and demos.

Listens on 127.0.0.1 only, keeps state in memory, checks every AWS request's SigV4 signature
(local/sigv4_verify.py) and keeps AWS's version and staging-label rules. RotateSecret invokes the
rotation function through a Lambda Invoke endpoint (local/lambda_runtime_server.py) and, unlike AWS,
waits for the four steps to finish (see local/README.md). Secret values never reach a log.

Usage: python3 local/secretsmanager_server.py --credentials AK:SK[:TOKEN] [--port 0]
       [--port-file FILE] [--region us-east-1] [--account 123456789012]
       [--lambda-endpoint http://127.0.0.1:PORT] [--log FILE]
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import logging
import os
import re
import secrets
import signal
import string
import ssl
import sys
import threading
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request
import uuid
import xml.sax.saxutils
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import function_kill  # noqa: E402  (sibling module)
import sigv4_verify  # noqa: E402  (sibling module)

LOG = logging.getLogger("secretsmanager")

CURRENT, PENDING, PREVIOUS = "AWSCURRENT", "AWSPENDING", "AWSPREVIOUS"
ROTATION_STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")
MAX_VALUE_BYTES = 65536
INVOKE_TIMEOUT_SECONDS = 120
PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
NAME_PATTERN = re.compile(r"[A-Za-z0-9/_+=.@-]{1,512}")
JSON_TYPE = "application/x-amz-json-1.1"
TARGET_PREFIX = "secretsmanager."

MSG_NO_SECRET = "Secrets Manager can't find the specified secret."
MSG_DELETED = ("You can't perform this operation on the secret because it was marked for "
               "deletion.")


class ServiceError(Exception):
    """An AWS error answer: `error_type` goes to `__type`, `status` is the HTTP status."""

    def __init__(self, error_type: str, message: str, status: int = 400):
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.status = status


class ConnectionClosed(Exception):
    """A queued fault asked to drop the connection without answering."""


def invalid_parameter(message: str) -> ServiceError:
    return ServiceError("InvalidParameterException", message)


def invalid_request(message: str) -> ServiceError:
    return ServiceError("InvalidRequestException", message)


# --------------------------------------------------------------------------- request parameters

Params = dict[str, Any]


def param(params: Params, name: str, kind: type | tuple[type, ...], required: bool = False,
          default: Any = None) -> Any:
    """Parameter `name` of JSON type `kind`; missing required → InvalidParameterException,
    wrong JSON type → SerializationException."""
    value = params.get(name)
    if value is None:
        if required:
            raise invalid_parameter(f"You must specify a value for the {name} parameter.")
        return default
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        raise ServiceError("SerializationException",
                           f"The value of {name} has the wrong JSON type.")
    return value


def client_token(params: Params, required: bool = False) -> str | None:
    """ClientRequestToken: 32 to 64 characters when given."""
    token = param(params, "ClientRequestToken", str, required=required)
    if token is not None and not 32 <= len(token) <= 64:
        raise invalid_parameter("ClientRequestToken must be 32 to 64 characters long.")
    return token


def secret_value(params: Params, required: bool) -> tuple[str | None, str | None]:
    """(SecretString, SecretBinary): at most one (exactly one if `required`), at most 64 KiB."""
    text = param(params, "SecretString", str)
    binary = param(params, "SecretBinary", str)
    if text is not None and binary is not None:
        raise invalid_parameter("You can't specify both a binary secret value and a string "
                                "secret value in the same secret.")
    if required and text is None and binary is None:
        raise invalid_parameter("You must provide either SecretString or SecretBinary.")
    if binary is not None:
        try:
            size = len(base64.b64decode(binary, validate=True))
        except binascii.Error:
            raise ServiceError("SerializationException",
                               "SecretBinary is not valid base64.") from None
    else:
        size = len(text.encode("utf-8")) if text is not None else 0
    if size > MAX_VALUE_BYTES:
        raise invalid_parameter(f"The secret value must be at most {MAX_VALUE_BYTES} bytes.")
    return text, binary


# --------------------------------------------------------------------------- secret state


@dataclass
class Version:
    """One secret version; both value fields None = the empty version RotateSecret creates."""

    version_id: str
    secret_string: str | None
    secret_binary: str | None
    stages: set[str]
    created: float
    last_accessed: float | None = None

    @property
    def has_value(self) -> bool:
        return self.secret_string is not None or self.secret_binary is not None

    def same_value(self, text: str | None, binary: str | None) -> bool:
        return (self.secret_string, self.secret_binary) == (text, binary)

    def value_fields(self) -> Params:
        if self.secret_string is not None:
            return {"SecretString": self.secret_string}
        return {"SecretBinary": self.secret_binary}


@dataclass
class Secret:
    """A secret, its versions (in creation order) and its rotation configuration."""

    name: str
    arn: str
    created: float
    description: str | None = None
    kms_key_id: str | None = None
    tags: list | None = None
    versions: dict[str, Version] = field(default_factory=dict)
    last_changed: float = 0.0
    last_accessed: float | None = None
    last_rotated: float | None = None
    deleted: float | None = None
    rotation_enabled: bool = False
    rotation_lambda_arn: str | None = None
    rotation_rules: Params | None = None
    rotation_token: str | None = None  # issued for the rotation in progress, if any

    def holder(self, stage: str) -> Version | None:
        """The version carrying staging label `stage`, if any."""
        return next((v for v in self.versions.values() if stage in v.stages), None)

    def version(self, version_id: str) -> Version:
        found = self.versions.get(version_id)
        if found is None:
            raise ServiceError("ResourceNotFoundException",
                               f"Secrets Manager can't find the specified secret version: "
                               f"{version_id}.")
        return found

    def attach(self, stage: str, target: Version) -> None:
        """Put `stage` on `target`, taking it off its holder; a moving AWSCURRENT leaves
        AWSPREVIOUS on its old holder."""
        old = self.holder(stage)
        if old is target:
            return
        if old is not None:
            old.stages.discard(stage)
            if stage == CURRENT:
                self.attach(PREVIOUS, old)
        target.stages.add(stage)

    def ids(self) -> Params:
        return {"ARN": self.arn, "Name": self.name}


def epoch_day(now: float) -> float:
    """`now` truncated to midnight UTC (AWS reports LastAccessedDate by day)."""
    return float(int(now) // 86400 * 86400)


@dataclass(frozen=True)
class RotationPlan:
    """What a RotateSecret call must invoke once the state lock is released."""

    arn: str
    function_arn: str
    version_id: str
    rotation_token: str


class SecretStore:
    """All secrets; every method takes the shared lock and follows AWS's rules.

    Operation methods take the request parameters and return the response object, or raise
    ServiceError. RotateSecret is split into `begin_rotation` / `end_rotation` so that the lock is
    not held while the rotation function runs (it calls back into this store).
    """

    def __init__(self, lock: threading.Lock, region: str, account: str,
                 lambda_endpoint: str | None):
        self.lock = lock
        self.region = region
        self.account = account
        self.lambda_endpoint = lambda_endpoint
        self.secrets: dict[str, Secret] = {}

    # -- lookup

    def _find(self, secret_id: str) -> Secret:
        secret = self.secrets.get(secret_id)
        if secret is None:
            secret = next((s for s in self.secrets.values() if s.arn == secret_id), None)
        if secret is None:
            raise ServiceError("ResourceNotFoundException", MSG_NO_SECRET)
        return secret

    def _active(self, params: Params) -> Secret:
        secret = self._find(param(params, "SecretId", str, required=True))
        if secret.deleted is not None:
            raise invalid_request(MSG_DELETED)
        return secret

    def _new_arn(self, name: str) -> str:
        suffix = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(6))
        return f"arn:aws:secretsmanager:{self.region}:{self.account}:secret:{name}-{suffix}"

    # -- operations

    def create_secret(self, params: Params) -> Params:
        name = param(params, "Name", str, required=True)
        if not NAME_PATTERN.fullmatch(name):
            raise invalid_parameter("Invalid name. Must be a valid name containing alphanumeric "
                                    "characters, or any of the following: -/_+=.@")
        token = client_token(params)
        text, binary = secret_value(params, required=False)
        description = param(params, "Description", str)
        kms_key_id = param(params, "KmsKeyId", str)
        tags = param(params, "Tags", list)
        with self.lock:
            existing = self.secrets.get(name)
            if existing is not None and existing.deleted is not None:
                raise invalid_request("You can't create this secret because a secret with this "
                                      "name is already scheduled for deletion.")
            if existing is not None:
                raise ServiceError("ResourceExistsException",
                                   f"The operation failed because the secret {name} already "
                                   "exists.")
            now = time.time()
            secret = Secret(name=name, arn=self._new_arn(name), created=now, last_changed=now,
                            description=description, kms_key_id=kms_key_id, tags=tags)
            response = secret.ids()
            if text is not None or binary is not None:
                version_id = token or str(uuid.uuid4())
                secret.versions[version_id] = Version(version_id, text, binary, {CURRENT}, now)
                response["VersionId"] = version_id
            self.secrets[name] = secret
            return response

    def describe_secret(self, params: Params) -> Params:
        with self.lock:
            secret = self._find(param(params, "SecretId", str, required=True))
            response = secret.ids() | {
                "RotationEnabled": secret.rotation_enabled,
                "LastChangedDate": secret.last_changed,
                "CreatedDate": secret.created,
                "VersionIdsToStages": {v.version_id: sorted(v.stages)
                                       for v in secret.versions.values() if v.stages},
            }
            optional = {
                "Description": secret.description,
                "KmsKeyId": secret.kms_key_id,
                "Tags": secret.tags,
                "RotationLambdaARN": secret.rotation_lambda_arn,
                "RotationRules": secret.rotation_rules,
                "LastRotatedDate": secret.last_rotated,
                "LastAccessedDate": secret.last_accessed,
                "DeletedDate": secret.deleted,
            }
            response.update({k: v for k, v in optional.items() if v is not None})
            return response

    def get_secret_value(self, params: Params) -> Params:
        version_id = param(params, "VersionId", str)
        stage = param(params, "VersionStage", str)
        with self.lock:
            secret = self._active(params)
            if version_id is not None:
                version = secret.versions.get(version_id)
                if version is None or (stage is not None and stage not in version.stages):
                    version = None
                what = f"VersionId: {version_id}"
            else:
                stage = stage or CURRENT
                version = secret.holder(stage)
                what = f"staging label: {stage}"
            if version is None or not version.has_value:
                raise ServiceError("ResourceNotFoundException",
                                   f"Secrets Manager can't find the specified secret value for "
                                   f"{what}")
            secret.last_accessed = version.last_accessed = epoch_day(time.time())
            return secret.ids() | {"VersionId": version.version_id,
                                   "VersionStages": sorted(version.stages),
                                   "CreatedDate": version.created} | version.value_fields()

    def put_secret_value(self, params: Params) -> Params:
        token = client_token(params, required=True)
        text, binary = secret_value(params, required=True)
        stages = param(params, "VersionStages", list, default=[CURRENT])
        if not all(isinstance(s, str) and s for s in stages):
            raise invalid_parameter("VersionStages must be a list of non-empty strings.")
        rotation_token = param(params, "RotationToken", str)
        with self.lock:
            secret = self._active(params)
            if rotation_token is not None and rotation_token != secret.rotation_token:
                raise invalid_request("The RotationToken doesn't match the rotation in progress "
                                      "for this secret.")
            version = secret.versions.get(token)
            if version is not None and version.has_value:
                if not version.same_value(text, binary):
                    raise ServiceError("ResourceExistsException",
                                       "You can't modify an existing version, you can only create "
                                       "a new version.")
                return secret.ids() | {"VersionId": token,
                                       "VersionStages": sorted(version.stages)}
            now = time.time()
            if version is None:
                version = Version(token, text, binary, set(), now)
                secret.versions[token] = version
            else:
                version.secret_string, version.secret_binary = text, binary
            for stage in stages:
                secret.attach(stage, version)
            secret.last_changed = now
            return secret.ids() | {"VersionId": token, "VersionStages": sorted(version.stages)}

    def update_secret_version_stage(self, params: Params) -> Params:
        stage = param(params, "VersionStage", str, required=True)
        move_to = param(params, "MoveToVersionId", str)
        remove_from = param(params, "RemoveFromVersionId", str)
        if move_to is None and remove_from is None:
            raise invalid_parameter("You must specify MoveToVersionId or RemoveFromVersionId.")
        with self.lock:
            secret = self._active(params)
            target = secret.version(move_to) if move_to is not None else None
            holder = secret.holder(stage)
            if remove_from is not None:
                secret.version(remove_from)
                if holder is None or holder.version_id != remove_from:
                    raise invalid_parameter(f"The staging label {stage} isn't attached to version "
                                            f"{remove_from}.")
            if target is None:
                if stage == CURRENT:
                    raise invalid_parameter(f"You can't remove the staging label {CURRENT} from "
                                            "a version without moving it to another version.")
                holder.stages.discard(stage)
            elif holder is not target:
                if holder is not None and remove_from is None:
                    raise invalid_parameter(f"The staging label {stage} is currently attached to "
                                            f"version {holder.version_id}, but you didn't specify "
                                            "RemoveFromVersionId.")
                secret.attach(stage, target)
            secret.last_changed = time.time()
            return secret.ids()

    def list_secret_version_ids(self, params: Params) -> Params:
        include_deprecated = param(params, "IncludeDeprecated", bool, default=False)
        with self.lock:
            secret = self._find(param(params, "SecretId", str, required=True))
            versions = []
            for v in secret.versions.values():
                if v.stages or include_deprecated:
                    entry = {"VersionId": v.version_id, "VersionStages": sorted(v.stages),
                             "CreatedDate": v.created}
                    if v.last_accessed is not None:
                        entry["LastAccessedDate"] = v.last_accessed
                    versions.append(entry)
            return secret.ids() | {"Versions": versions}

    def delete_secret(self, params: Params) -> Params:
        window = param(params, "RecoveryWindowInDays", int)
        force = param(params, "ForceDeleteWithoutRecovery", bool, default=False)
        if force and window is not None:
            raise invalid_parameter("You can't use ForceDeleteWithoutRecovery in conjunction with "
                                    "RecoveryWindowInDays.")
        if window is not None and not 7 <= window <= 30:
            raise invalid_parameter("RecoveryWindowInDays must be between 7 and 30 days.")
        with self.lock:
            secret = self._find(param(params, "SecretId", str, required=True))
            now = time.time()
            if force:
                del self.secrets[secret.name]
                return secret.ids() | {"DeletionDate": now}
            if secret.deleted is not None:
                raise invalid_request(MSG_DELETED)
            secret.deleted = now
            return secret.ids() | {"DeletionDate": now + 86400 * (window or 30)}

    def begin_rotation(self, params: Params) -> tuple[Params, RotationPlan | None]:
        """Validate RotateSecret, store the configuration and (if rotating now) prepare the
        AWSPENDING version; return the response and what to invoke (None: nothing)."""
        token = client_token(params)
        function_arn = param(params, "RotationLambdaARN", str)
        rules = param(params, "RotationRules", dict)
        immediately = param(params, "RotateImmediately", bool, default=True)
        with self.lock:
            secret = self._active(params)
            function_arn = function_arn or secret.rotation_lambda_arn
            if function_arn is None:
                raise invalid_request("No Lambda rotation function ARN is associated with this "
                                      "secret.")
            if immediately and not self.lambda_endpoint:
                raise invalid_request("This local Secrets Manager has no --lambda-endpoint to "
                                      "invoke the rotation function.")
            current, pending = secret.holder(CURRENT), secret.holder(PENDING)
            resume = pending is not None and pending is not current
            if resume and token != pending.version_id:
                raise invalid_request("A previous rotation isn't complete. That rotation will be "
                                      "reattempted.")
            if not resume and token is not None and token in secret.versions:
                raise invalid_request(f"A version with ClientRequestToken {token} already exists.")
            secret.rotation_lambda_arn = function_arn
            secret.rotation_rules = rules if rules is not None else secret.rotation_rules
            secret.rotation_enabled = True
            secret.last_changed = time.time()
            if not immediately:
                return secret.ids(), None
            if resume:
                version = pending
                secret.rotation_token = secret.rotation_token or str(uuid.uuid4())
            else:
                version = Version(token or str(uuid.uuid4()), None, None, set(), time.time())
                secret.versions[version.version_id] = version
                secret.attach(PENDING, version)
                secret.rotation_token = str(uuid.uuid4())
            plan = RotationPlan(secret.arn, function_arn, version.version_id,
                                secret.rotation_token)
            return secret.ids() | {"VersionId": version.version_id}, plan

    def end_rotation(self, plan: RotationPlan) -> None:
        """Record a successful rotation (the secret may have been deleted meanwhile)."""
        with self.lock:
            secret = next((s for s in self.secrets.values() if s.arn == plan.arn), None)
            if secret is not None:
                secret.last_rotated = time.time()
                if secret.rotation_token == plan.rotation_token:
                    secret.rotation_token = None


# --------------------------------------------------------------------------- random passwords


def get_random_password(params: Params) -> Params:
    """GetRandomPassword with AWS's parameters and defaults; uses the `secrets` module."""
    length = param(params, "PasswordLength", int, default=32)
    if not 1 <= length <= 4096:
        raise invalid_parameter("PasswordLength must be between 1 and 4096.")
    excluded = set(param(params, "ExcludeCharacters", str, default=""))
    classes = []
    for flag, chars in (("ExcludeLowercase", string.ascii_lowercase),
                        ("ExcludeUppercase", string.ascii_uppercase),
                        ("ExcludeNumbers", string.digits),
                        ("ExcludePunctuation", PUNCTUATION)):
        if not param(params, flag, bool, default=False):
            classes.append("".join(c for c in chars if c not in excluded))
    classes = [c for c in classes if c]
    space = " " if param(params, "IncludeSpace", bool, default=False) and " " not in excluded \
        else ""
    alphabet = "".join(classes) + space
    if not alphabet:
        raise invalid_parameter("The password can't be generated: every character is excluded.")
    chosen = []
    if param(params, "RequireEachIncludedType", bool, default=True):
        if len(classes) > length:
            raise invalid_parameter(f"PasswordLength {length} is too short to include each of "
                                    f"the {len(classes)} included character types.")
        chosen = [secrets.choice(chars) for chars in classes]
    chosen += [secrets.choice(alphabet) for _ in range(length - len(chosen))]
    secrets.SystemRandom().shuffle(chosen)
    return {"RandomPassword": "".join(chosen)}


# --------------------------------------------------------------------------- rotation


class LambdaClient:
    """Invokes a rotation function through the Lambda Invoke API at `endpoint`."""

    def __init__(self, endpoint: str):
        self.endpoint = endpoint.rstrip("/")

    def invoke(self, function_arn: str, event: Params) -> tuple[str, str] | None:
        """Invoke synchronously; None on success, else (errorType, errorMessage)."""
        url = (f"{self.endpoint}/2015-03-31/functions/"
               f"{urllib.parse.quote(function_arn, safe='')}/invocations")
        request = urllib.request.Request(url, data=json.dumps(event).encode(), method="POST",
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=INVOKE_TIMEOUT_SECONDS) as response:
                status, headers, body = response.status, response.headers, response.read()
        except urllib.error.HTTPError as exc:
            status, headers, body = exc.code, exc.headers, exc.read()
        except OSError as exc:
            return "ServiceException", f"could not invoke the function: {exc}"
        if status == 200 and not headers.get("X-Amz-Function-Error"):
            return None
        return self._describe_failure(status, headers, body)

    @staticmethod
    def _describe_failure(status: int, headers: Any, body: bytes) -> tuple[str, str]:
        """(errorType, errorMessage) from a function error body or a Lambda service error."""
        try:
            payload = json.loads(body)
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            payload = {}
        error_type = (payload.get("errorType") or headers.get("x-amzn-ErrorType")
                      or headers.get("X-Amz-Function-Error") or f"HTTP{status}")
        message = (payload.get("errorMessage") or payload.get("message")
                   or payload.get("Message") or f"invocation answered HTTP {status}")
        return str(error_type), str(message)


def rotate_secret(store: SecretStore, params: Params) -> Params:
    """RotateSecret, synchronously: run the four steps and report the first failure as
    RotationFailedException (a documented deviation: AWS rotates in the background)."""
    response, plan = store.begin_rotation(params)
    if plan is None:
        return response
    client = LambdaClient(store.lambda_endpoint)
    for step in ROTATION_STEPS:
        event = {"Step": step, "SecretId": plan.arn, "ClientRequestToken": plan.version_id,
                 "RotationToken": plan.rotation_token}
        LOG.info("rotation %s version %s: invoking %s", plan.arn, plan.version_id, step)
        failure = client.invoke(plan.function_arn, event)
        if failure is not None:
            LOG.info("rotation %s version %s: %s failed (%s)", plan.arn, plan.version_id, step,
                     failure[0])
            raise ServiceError("RotationFailedException",
                               f"rotation step {step} failed: {failure[0]}: {failure[1]}")
    store.end_rotation(plan)
    return response


# --------------------------------------------------------------------------- test controls


class TestControls:
    """The request journal and the queued fault answers behind /_test/ (shared lock)."""

    def __init__(self, lock: threading.Lock):
        self.lock = lock
        self.journal: list[Params] = []
        self.faults: dict[str, list[Params]] = {}
        self.kill: Params | None = None

    def record(self, entry: Params) -> None:
        with self.lock:
            self.journal.append(entry)

    def requests(self) -> list[Params]:
        with self.lock:
            return list(self.journal)

    def clear_requests(self) -> None:
        with self.lock:
            self.journal.clear()

    def add_faults(self, spec: Any) -> None:
        """Queue `spec["responses"]` for operation `spec["operation"]` ("*" = any)."""
        if not isinstance(spec, dict) or not isinstance(spec.get("operation"), str) or \
                not isinstance(spec.get("responses"), list) or \
                not all(isinstance(r, dict) for r in spec["responses"]):
            raise ValueError('expected {"operation": str, "responses": [object, ...]}')
        with self.lock:
            self.faults.setdefault(spec["operation"], []).extend(spec["responses"])

    def clear_faults(self) -> None:
        with self.lock:
            self.faults.clear()

    def take_fault(self, operation: str) -> Params | None:
        """The next queued answer for `operation` (specific queue first, then "*")."""
        with self.lock:
            for key in (operation, "*"):
                queue = self.faults.get(key)
                if queue:
                    return queue.pop(0)
            return None

    # -- the kill fault: SIGKILL the function process at its Nth call

    def arm_kill(self, spec: Any) -> None:
        """Arm {"call": N, "when": "before" | "after", "accessKey"?: AK, "pid"?: PID}: the Nth
        AWS request from now (counting only those signed with `accessKey`, if given) kills the
        function process before or after it is applied, and its connection is dropped unanswered.
        The process is `pid`, else the local Lambda service's current child."""
        if not isinstance(spec, dict) or not isinstance(spec.get("call"), int) or \
                isinstance(spec.get("call"), bool) or spec["call"] < 1 or \
                spec.get("when") not in ("before", "after") or \
                not isinstance(spec.get("accessKey", ""), str) or \
                not isinstance(spec.get("pid", 0), int):
            raise ValueError('expected {"call": N >= 1, "when": "before" or "after", '
                             '"accessKey"?: str, "pid"?: int}')
        with self.lock:
            self.kill = {"call": spec["call"], "when": spec["when"],
                         "accessKey": spec.get("accessKey"), "pid": spec.get("pid"),
                         "seen": 0, "fired": None, "error": None}

    def clear_kill(self) -> None:
        with self.lock:
            self.kill = None

    def kill_status(self) -> Params:
        """{"armed", "seen", "fired": {"call", "when", "operation"} or null, "error"}."""
        with self.lock:
            if self.kill is None:
                return {"armed": False, "seen": 0, "fired": None, "error": None}
            return {"armed": self.kill["fired"] is None, "seen": self.kill["seen"],
                    "fired": self.kill["fired"], "error": self.kill["error"]}

    def kill_due(self, access_key: str, operation: str) -> tuple[str, int | None] | None:
        """Count a request; ("before" | "after", pid) when it is the one to kill at."""
        with self.lock:
            plan = self.kill
            if plan is None or plan["fired"] is not None:
                return None
            if plan["accessKey"] and plan["accessKey"] != access_key:
                return None
            plan["seen"] += 1
            if plan["seen"] != plan["call"]:
                return None
            plan["fired"] = {"call": plan["call"], "when": plan["when"], "operation": operation}
            return plan["when"], plan["pid"]

    def kill_failed(self, message: str) -> None:
        with self.lock:
            if self.kill is not None:
                self.kill["error"] = message


def journal_entry(operation: str, params: Params, status: int, error_type: str | None,
                  response: Params | None) -> Params:
    """A journal line: operation, ids and labels only, never values."""
    entry: Params = {"operation": operation,
                     "secretId": params.get("SecretId", params.get("Name"))}
    version_id = params.get("VersionId") or params.get("ClientRequestToken") or (
        response or {}).get("VersionId")
    optional = {"versionId": version_id,
                "versionStage": params.get("VersionStage"),
                "versionStages": params.get("VersionStages"),
                "moveToVersionId": params.get("MoveToVersionId"),
                "removeFromVersionId": params.get("RemoveFromVersionId")}
    entry.update({k: v for k, v in optional.items() if isinstance(v, (str, list))})
    entry["status"] = status
    if error_type:
        entry["errorType"] = error_type
    return entry


# --------------------------------------------------------------------------- value journal

OUTPUT_DIR_VARIABLE = "SECRET_ROTATOR_TEST_OUTPUT_DIR"
VALUES_FOLDER = "secret-values"


class ValueJournal:
    """For the tests' leak scan: every SecretString this server is sent (stored or refused) and
    every password it generates, appended to <$SECRET_ROTATOR_TEST_OUTPUT_DIR>/secret-values/
    secretsmanager-<pid>.jsonl (owner-only). Without that variable it records nothing. The scan
    (tests/adversarial/leak_scan.py) reads these files and searches every other output for the
    passwords in them; nothing else may read or print them."""

    def __init__(self, output_dir: str | None):
        self.path = None
        self.lock = threading.Lock()
        if output_dir:
            folder = os.path.join(output_dir, VALUES_FOLDER)
            os.makedirs(folder, mode=0o700, exist_ok=True)
            self.path = os.path.join(folder, f"secretsmanager-{os.getpid()}.jsonl")

    def _append(self, entry: Params) -> None:
        if self.path is None:
            return
        line = json.dumps(entry) + "\n"
        with self.lock:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            try:
                os.write(fd, line.encode("utf-8"))
            finally:
                os.close(fd)

    def record_request(self, params: Params) -> None:
        text = params.get("SecretString")
        if isinstance(text, str):
            self._append({"secretString": text})

    def record_generated(self, password: Any) -> None:
        if isinstance(password, str):
            self._append({"generated": password})


# --------------------------------------------------------------------------- HTTP


def wire_text(text: str) -> str:
    """Undo http.server's ISO-8859-1 decoding of the request line and headers, so that UTF-8
    bytes on the wire are signed as UTF-8."""
    return text.encode("iso-8859-1", "replace").decode("utf-8", "replace")


class SecretsManagerServer(ThreadingHTTPServer):
    """The HTTP server plus the service state every handler thread shares."""

    daemon_threads = True

    def __init__(self, port: int, region: str, account: str,
                 credentials: dict[str, sigv4_verify.Credential], lambda_endpoint: str | None):
        super().__init__(("127.0.0.1", port), Handler)
        lock = threading.Lock()
        self.region = region
        self.credentials = credentials
        self.store = SecretStore(lock, region, account, lambda_endpoint)
        self.controls = TestControls(lock)
        self.rds = RdsStore(lock, region, account)
        self.values = ValueJournal(os.environ.get(OUTPUT_DIR_VARIABLE))
        store = self.store
        self.operations: dict[str, Callable[[Params], Params]] = {
            "CreateSecret": store.create_secret,
            "DescribeSecret": store.describe_secret,
            "GetSecretValue": store.get_secret_value,
            "PutSecretValue": store.put_secret_value,
            "UpdateSecretVersionStage": store.update_secret_version_stage,
            "ListSecretVersionIds": store.list_secret_version_ids,
            "DeleteSecret": store.delete_secret,
            "GetRandomPassword": get_random_password,
            "RotateSecret": lambda params: rotate_secret(store, params),
        }


class Handler(BaseHTTPRequestHandler):
    """AWS requests on POST (any path outside /_test/); test controls under /_test/."""

    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; with Nagle's algorithm on,
    # a kept-alive client's delayed ACK would hold the body back ~40 ms.
    disable_nagle_algorithm = True
    server: SecretsManagerServer

    # -- plumbing

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _send(self, status: int, payload: Any, content_type: str = "application/json",
              extra: dict[str, str] | None = None) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _send_aws(self, status: int, payload: Params, error_type: str | None = None) -> None:
        extra = {"x-amzn-RequestId": str(uuid.uuid4())}
        if error_type:
            extra["x-amzn-ErrorType"] = error_type
        self._send(status, payload, JSON_TYPE, extra)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (base-class name)
        LOG.debug("%s " + format, self.address_string(), *args)

    # -- routing

    def do_GET(self) -> None:
        self._read_body()
        if self.path == "/_test/requests":
            self._send(200, self.server.controls.requests())
        elif self.path == "/_test/kill":
            self._send(200, self.server.controls.kill_status())
        else:
            self._send(404, {"message": f"no such resource: {self.path}"})

    def do_POST(self) -> None:
        body = self._read_body()
        if self.path.startswith("/_test/"):
            self._handle_control(body)
        elif (not self.headers.get("X-Amz-Target") and
              self.headers.get("Content-Type", "").startswith(FORM_TYPE)):
            self._handle_rds(body)  # the Query protocol: RDS
        else:
            self._handle_aws(body)

    def _handle_control(self, body: bytes) -> None:
        controls = self.server.controls
        if self.path == "/_test/requests/clear":
            controls.clear_requests()
        elif self.path == "/_test/faults/clear":
            controls.clear_faults()
        elif self.path == "/_test/faults":
            try:
                controls.add_faults(json.loads(body or b"null"))
            except ValueError as exc:
                self._send(400, {"message": str(exc)})
                return
        elif self.path == "/_test/kill":
            try:
                controls.arm_kill(json.loads(body or b"null"))
            except ValueError as exc:
                self._send(400, {"message": str(exc)})
                return
        elif self.path == "/_test/kill/clear":
            controls.clear_kill()
        elif self.path == "/_test/rds":
            try:
                self.server.rds.configure(json.loads(body or b"null"))
            except ValueError as exc:
                self._send(400, {"message": str(exc)})
                return
        else:
            self._send(404, {"message": f"no such resource: {self.path}"})
            return
        self._send(200, {"status": "OK"})

    def _handle_aws(self, body: bytes) -> None:
        target = self.headers.get("X-Amz-Target", "")
        operation = target[len(TARGET_PREFIX):] if target.startswith(TARGET_PREFIX) else ""
        try:
            params = json.loads(body) if body.strip() else {}
        except ValueError:
            params = None
        status, error_type, response = 200, None, None
        reply: Params | None = None
        try:
            response = self._execute(operation, params, body)
            reply = response
        except ServiceError as exc:
            status, error_type = exc.status, exc.error_type
            reply = {"__type": exc.error_type, "message": exc.message}
        except ConnectionClosed:
            status, error_type = 0, "ConnectionClosed"
            self.close_connection = True
        except Exception:  # a bug in this server: report it, keep serving
            LOG.error("internal error in %s:\n%s", operation, traceback.format_exc())
            status, error_type = 500, "InternalServiceError"
            reply = {"__type": error_type, "message": "internal server error"}
        # Record before answering, so a client that reads the journal right
        # after its answer sees its own request.
        entry = journal_entry(operation or target, params if isinstance(params, dict) else {},
                              status, error_type, response)
        self.server.controls.record(entry)
        if reply is not None:
            self._send_aws(status, reply, error_type)
        LOG.info("%s", " ".join(f"{key}={value}" for key, value in entry.items()))

    def _handle_rds(self, body: bytes) -> None:
        """RDS's Query protocol: a signed form POST (service "rds"), answered in XML."""
        try:
            params = dict(urllib.parse.parse_qsl(body.decode("utf-8"), keep_blank_values=True,
                                                 strict_parsing=bool(body)))
        except (UnicodeDecodeError, ValueError):
            params = {}
        action = params.get("Action", "")
        status, error_type = 200, None
        try:
            headers = [(name, wire_text(value)) for name, value in self.headers.items()]
            try:
                sigv4_verify.verify_request(self.command, wire_text(self.path), headers, body,
                                            self.server.credentials, self.server.region, "rds")
            except sigv4_verify.SigV4Error as exc:
                raise ServiceError(exc.error_type, exc.message, 403) from None
            if params.get("Version") != RDS_VERSION:
                raise ServiceError("InvalidParameterValue", "Version must be " + RDS_VERSION)
            fault = self.server.controls.take_fault(action)
            if fault is not None:
                raise ServiceError(str(fault.get("type", "InternalFailure")),
                                   str(fault.get("message", "injected fault")),
                                   int(fault.get("status", 500)))
            operations = {"DescribeDBInstances": self.server.rds.describe_db_instances,
                          "DescribeDBClusters": self.server.rds.describe_db_clusters}
            if action not in operations:
                raise ServiceError("InvalidAction", f"Could not find operation {action!r}.")
            reply = operations[action](params)
        except ServiceError as exc:
            status, error_type = exc.status, exc.error_type
            reply = rds_error_xml(exc.error_type, exc.message)
        entry = {"operation": action, "service": "rds", "status": status,
                 "identifier": params.get("DBInstanceIdentifier",
                                          params.get("DBClusterIdentifier"))}
        if error_type:
            entry["errorType"] = error_type
        self.server.controls.record(entry)
        data = reply.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        self.end_headers()
        self.wfile.write(data)
        LOG.info("%s", " ".join(f"{key}={value}" for key, value in entry.items()))

    def _execute(self, operation: str, params: Any, body: bytes) -> Params:
        """Authenticate, apply a queued fault, else run the operation; raise ServiceError."""
        if isinstance(params, dict):
            self.server.values.record_request(params)  # refused requests too
        headers = [(name, wire_text(value)) for name, value in self.headers.items()]
        try:
            credential = sigv4_verify.verify_request(
                self.command, wire_text(self.path), headers, body, self.server.credentials,
                self.server.region, "secretsmanager")
        except sigv4_verify.SigV4Error as exc:
            raise ServiceError(exc.error_type, exc.message) from None
        kill = self.server.controls.kill_due(credential.access_key, operation)
        if kill is not None and kill[0] == "before":
            self._kill_function(kill[1])
        try:
            return self._apply(operation, params)
        finally:
            if kill is not None:  # applied, whether it succeeded or failed
                self._kill_function(kill[1])

    def _kill_function(self, pid: int | None) -> None:
        """SIGKILL the function process and wait for it to die; then drop this connection."""
        try:
            function_kill.kill(pid or function_kill.function_pid(self.server.store.lambda_endpoint
                                                                 or ""))
        except function_kill.KillError as exc:
            LOG.error("kill fault: %s", exc)
            self.server.controls.kill_failed(str(exc))
        raise ConnectionClosed()

    def _apply(self, operation: str, params: Any) -> Params:
        """Apply a queued fault, else run the operation; raise ServiceError."""
        fault = self.server.controls.take_fault(operation)
        if fault is not None and "stall" in fault:
            # A slow or hung service: wait, then answer as usual (a client
            # that gave up meanwhile gets nothing).
            time.sleep(min(float(fault["stall"]), 600.0))
            fault = None
        if fault is not None:
            if fault.get("close"):
                raise ConnectionClosed()
            raise ServiceError(str(fault.get("type", "InternalServiceError")),
                               str(fault.get("message", "injected fault")),
                               int(fault.get("status", 500)))
        handler = self.server.operations.get(operation)
        if handler is None:
            raise ServiceError("UnknownOperationException",
                               f"Unknown operation: {self.headers.get('X-Amz-Target')!r}")
        if not isinstance(params, dict):
            raise ServiceError("SerializationException",
                               "The request body is not a JSON object.")
        response = handler(params)
        if operation == "GetRandomPassword":
            self.server.values.record_generated(response.get("RandomPassword"))
        return response


# --------------------------------------------------------------------------- RDS (Query protocol)

RDS_VERSION = "2014-10-31"
RDS_NAMESPACE = "http://rds.amazonaws.com/doc/2014-10-31/"
FORM_TYPE = "application/x-www-form-urlencoded"


class RdsStore:
    """The RDS instances and clusters a test configured (POST /_test/rds), answered as
    DescribeDBInstances / DescribeDBClusters do: by identifier or ARN, or all of them."""

    INSTANCE_FIELDS = {"identifier": str, "arn": str, "engine": str, "address": str, "port": int,
                       "cluster": str, "replica_source": str}
    CLUSTER_FIELDS = {"identifier": str, "arn": str, "engine": str, "endpoint": str,
                      "reader_endpoint": str, "custom_endpoints": list, "port": int,
                      "members": list}

    def __init__(self, lock: threading.Lock, region: str, account: str):
        self.lock = lock
        self.region = region
        self.account = account
        self.instances: list[Params] = []
        self.clusters: list[Params] = []

    def _checked(self, items: Any, fields: dict[str, type], kind: str) -> list[Params]:
        if not isinstance(items, list):
            raise ValueError(f"{kind} must be a list")
        result = []
        for item in items:
            if not isinstance(item, dict) or not isinstance(item.get("identifier"), str):
                raise ValueError(f"each of {kind} needs an identifier")
            for key, value in item.items():
                if key not in fields or not isinstance(value, fields[key]):
                    raise ValueError(f"{kind}: bad field {key!r}")
            arn_kind = "db" if kind == "instances" else "cluster"
            item = dict(item)
            item.setdefault("arn", f"arn:aws:rds:{self.region}:{self.account}:{arn_kind}:"
                                   f"{item['identifier']}")
            result.append(item)
        return result

    def configure(self, spec: Any) -> None:
        """Replace every instance and cluster with `spec`'s {"instances": [...], "clusters": [...]}."""
        if not isinstance(spec, dict):
            raise ValueError("the RDS configuration must be an object")
        instances = self._checked(spec.get("instances", []), self.INSTANCE_FIELDS, "instances")
        clusters = self._checked(spec.get("clusters", []), self.CLUSTER_FIELDS, "clusters")
        with self.lock:
            self.instances, self.clusters = instances, clusters

    @staticmethod
    def _select(items: list[Params], wanted: str | None) -> list[Params]:
        if wanted is None:
            return list(items)
        return [i for i in items if wanted in (i["identifier"], i["arn"])]

    def describe_db_instances(self, params: dict[str, str]) -> str:
        wanted = params.get("DBInstanceIdentifier")
        with self.lock:
            found = self._select(self.instances, wanted)
        if wanted is not None and not found:
            raise ServiceError("DBInstanceNotFound", f"DBInstance {wanted} not found.", 404)
        items = "".join(rds_instance_xml(i) for i in found)
        return rds_result_xml("DescribeDBInstances", f"<DBInstances>{items}</DBInstances>")

    def describe_db_clusters(self, params: dict[str, str]) -> str:
        wanted = params.get("DBClusterIdentifier")
        with self.lock:
            found = self._select(self.clusters, wanted)
        if wanted is not None and not found:
            raise ServiceError("DBClusterNotFoundFault", f"DBCluster {wanted} not found.", 404)
        items = "".join(rds_cluster_xml(c) for c in found)
        return rds_result_xml("DescribeDBClusters", f"<DBClusters>{items}</DBClusters>")


def rds_element(name: str, value: Any) -> str:
    if value is None or value == "":
        return ""
    return f"<{name}>{xml.sax.saxutils.escape(str(value))}</{name}>"


def rds_instance_xml(instance: Params) -> str:
    endpoint = ""
    if instance.get("address"):
        endpoint = ("<Endpoint>" + rds_element("Address", instance["address"]) +
                    rds_element("Port", instance.get("port")) +
                    "<HostedZoneId>Z2R2ITUGPM61AM</HostedZoneId></Endpoint>")
    return ("<DBInstance>" + rds_element("DBInstanceIdentifier", instance["identifier"]) +
            rds_element("DBInstanceArn", instance["arn"]) +
            rds_element("Engine", instance.get("engine")) +
            "<DBInstanceStatus>available</DBInstanceStatus>" + endpoint +
            rds_element("DBClusterIdentifier", instance.get("cluster")) +
            rds_element("ReadReplicaSourceDBInstanceIdentifier", instance.get("replica_source")) +
            "</DBInstance>")


def rds_cluster_xml(cluster: Params) -> str:
    customs = "".join(rds_element("member", e) for e in cluster.get("custom_endpoints", []))
    members = "".join("<DBClusterMember>" + rds_element("DBInstanceIdentifier", m) +
                      f"<IsClusterWriter>{'true' if n == 0 else 'false'}</IsClusterWriter>"
                      "</DBClusterMember>" for n, m in enumerate(cluster.get("members", [])))
    return ("<DBCluster>" + rds_element("DBClusterIdentifier", cluster["identifier"]) +
            rds_element("DBClusterArn", cluster["arn"]) +
            rds_element("Engine", cluster.get("engine")) +
            "<Status>available</Status>" +
            rds_element("Endpoint", cluster.get("endpoint")) +
            rds_element("ReaderEndpoint", cluster.get("reader_endpoint")) +
            f"<CustomEndpoints>{customs}</CustomEndpoints>" +
            rds_element("Port", cluster.get("port")) +
            f"<DBClusterMembers>{members}</DBClusterMembers></DBCluster>")


def rds_result_xml(action: str, inner: str) -> str:
    return (f'<{action}Response xmlns="{RDS_NAMESPACE}"><{action}Result>{inner}</{action}Result>'
            f"<ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata>"
            f"</{action}Response>")


def rds_error_xml(error_type: str, message: str) -> str:
    return (f'<ErrorResponse xmlns="{RDS_NAMESPACE}"><Error><Type>Sender</Type>'
            f"{rds_element('Code', error_type)}{rds_element('Message', message)}</Error>"
            f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>")


# --------------------------------------------------------------------------- main


def write_port_file(path: str, port: int) -> None:
    """Write `port` to `path` atomically (temp file + rename)."""
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(f"{port}\n")
    os.replace(tmp, path)


def parse_credentials(values: list[str]) -> dict[str, sigv4_verify.Credential]:
    """ACCESS_KEY:SECRET_KEY[:SESSION_TOKEN] strings → credentials by access key."""
    result = {}
    for value in values:
        parts = value.split(":", 2)
        if len(parts) < 2 or not parts[0] or not parts[1]:
            raise argparse.ArgumentTypeError(
                "--credentials must be ACCESS_KEY:SECRET_KEY[:SESSION_TOKEN]")
        result[parts[0]] = sigv4_verify.Credential(parts[0], parts[1],
                                                   parts[2] if len(parts) == 3 else None)
    return result


def setup_logging(path: str | None) -> None:
    handler = logging.FileHandler(path) if path else logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler])


def serve(server: ThreadingHTTPServer, port_file: str | None) -> None:
    """Announce the port, serve until SIGTERM/SIGINT, then close the socket."""
    port = server.server_address[1]
    if port_file:
        write_port_file(port_file, port)
    print(f"listening on 127.0.0.1:{port}", flush=True)

    def stop(signum: int, frame: Any) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        server.serve_forever()
    finally:
        server.server_close()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file")
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--account", default="123456789012")
    parser.add_argument("--credentials", action="append", required=True,
                        help="ACCESS_KEY:SECRET_KEY[:SESSION_TOKEN], repeatable")
    parser.add_argument("--lambda-endpoint")
    parser.add_argument("--log")
    parser.add_argument("--tls-cert", help="serve HTTPS with this PEM certificate (chain)")
    parser.add_argument("--tls-key", help="the private key of --tls-cert")
    args = parser.parse_args(argv)
    if bool(args.tls_cert) != bool(args.tls_key):
        parser.error("--tls-cert and --tls-key go together")
    try:
        credentials = parse_credentials(args.credentials)
    except argparse.ArgumentTypeError as exc:
        parser.error(str(exc))
    setup_logging(args.log)
    server = SecretsManagerServer(args.port, args.region, args.account, credentials,
                                  args.lambda_endpoint)
    if args.tls_cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.tls_cert, args.tls_key)
        # The handshake runs in each connection's own thread, on first read.
        server.socket = context.wrap_socket(server.socket, server_side=True,
                                            do_handshake_on_connect=False)
    serve(server, args.port_file)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
