#!/usr/bin/env python3
"""Server-side verification of AWS Signature Version 4 (Authorization header form).

Written from the AWS SigV4 specification, independently of the project's C++ signer, so that the
local Secrets Manager stand-in can check that signer for real.

Contract of the main entry point, `verify_request`: given the request exactly as received (method,
raw request target, header list with repeats, body bytes) and the known credentials, it either
returns the matching `Credential` or raises `SigV4Error(error_type, message)` whose `error_type` is
the AWS error code a real service would answer with (HTTP 400).

Canonicalization rules (non-S3 services):
- path: optionally normalized (RFC 3986 dot-segment removal, empty segments dropped), then each
  segment URI-encoded over the RFC 3986 unreserved set (a received `%` becomes `%25`);
- query: pairs split on `&`/`=`, percent-decoded, re-encoded, sorted by key then value;
- headers: the SignedHeaders in their listed order, values trimmed with inner whitespace runs
  collapsed, repeats joined with ",";
- payload: hex SHA-256 of the body, or the `x-amz-content-sha256` header, which must then match.

Run `python3 local/sigv4_verify.py [SUITE_DIR]` to check it against the AWS test vectors.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import os
import re
import sys
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence
from urllib.parse import quote, unquote_to_bytes

ALGORITHM = "AWS4-HMAC-SHA256"
MAX_CLOCK_SKEW = datetime.timedelta(minutes=15)
AMZ_DATE_FORMAT = "%Y%m%dT%H%M%SZ"
UNRESERVED = "-_.~"  # plus ASCII letters and digits, which quote() never encodes

MSG_INVALID_TOKEN = "The security token included in the request is invalid."
MSG_MISMATCH = ("The request signature we calculated does not match the signature you provided. "
                "Check your AWS Secret Access Key and signing method.")

Headers = Sequence[tuple[str, str]]


class SigV4Error(Exception):
    """A rejected request: `error_type` is the AWS error code, `message` its text."""

    def __init__(self, error_type: str, message: str):
        super().__init__(f"{error_type}: {message}")
        self.error_type = error_type
        self.message = message


@dataclass(frozen=True)
class Credential:
    """An access key pair; `session_token`, when set, must accompany every request."""

    access_key: str
    secret_key: str
    session_token: str | None = None


@dataclass(frozen=True)
class Authorization:
    """The parsed parts of an `Authorization: AWS4-HMAC-SHA256 ...` header."""

    access_key: str
    date: str
    region: str
    service: str
    terminator: str
    signed_headers: tuple[str, ...]
    signature: str

    @property
    def scope(self) -> str:
        return f"{self.date}/{self.region}/{self.service}/{self.terminator}"


# --------------------------------------------------------------------------- canonical request


def uri_encode(text: str | bytes) -> str:
    """Percent-encode everything except the RFC 3986 unreserved characters (UTF-8 first)."""
    return quote(text, safe=UNRESERVED)


def canonical_uri(raw_path: str, normalize: bool = True) -> str:
    """The canonical URI of a raw request path.

    With `normalize`, dot segments are resolved and empty segments dropped (a trailing slash is kept
    when the path ends in a directory); without it the segments are taken as they are.
    """
    if not raw_path:
        return "/"
    raw_segments = raw_path.split("/")
    if not normalize:
        return "/".join(uri_encode(seg) for seg in raw_segments)
    segments: list[str] = []
    for seg in raw_segments:
        if seg == "..":
            if segments:
                segments.pop()
        elif seg not in ("", "."):
            segments.append(seg)
    path = "/" + "/".join(uri_encode(seg) for seg in segments)
    ends_as_directory = raw_segments[-1] in ("", ".", "..")
    if segments and ends_as_directory:
        path += "/"
    return path


def canonical_query(raw_query: str) -> str:
    """The canonical query string: decoded, re-encoded pairs sorted by key, then value."""
    pairs = []
    for item in raw_query.split("&"):
        if not item:
            continue
        key, _, value = item.partition("=")
        pairs.append((uri_encode(unquote_to_bytes(key)), uri_encode(unquote_to_bytes(value))))
    return "&".join(f"{key}={value}" for key, value in sorted(pairs))


def header_values(headers: Headers, name: str) -> list[str]:
    """All values of header `name` (case-insensitive), in the order received."""
    wanted = name.lower()
    return [value for key, value in headers if key.lower() == wanted]


def header_value(headers: Headers, name: str) -> str | None:
    """The first value of header `name`, or None when absent."""
    values = header_values(headers, name)
    return values[0] if values else None


def canonical_header_value(values: Iterable[str]) -> str:
    """Each value trimmed with whitespace runs collapsed to one space; repeats joined by ','."""
    return ",".join(" ".join(value.split()) for value in values)


def canonical_request(method: str, target: str, headers: Headers, signed_headers: Sequence[str],
                      payload_hash: str, normalize: bool = True) -> str:
    """The SigV4 canonical request for a received request (`target` = raw path[?query])."""
    raw_path, _, raw_query = target.partition("?")
    header_block = "".join(
        f"{name}:{canonical_header_value(header_values(headers, name))}\n" for name in signed_headers)
    return "\n".join([
        method.upper(),
        canonical_uri(raw_path, normalize),
        canonical_query(raw_query),
        header_block,
        ";".join(signed_headers),
        payload_hash,
    ])


def string_to_sign(amz_date: str, scope: str, creq: str) -> str:
    """The SigV4 string to sign for a canonical request."""
    digest = hashlib.sha256(creq.encode("utf-8")).hexdigest()
    return "\n".join([ALGORITHM, amz_date, scope, digest])


def signing_key(secret_key: str, date: str, region: str, service: str) -> bytes:
    """kSigning = HMAC chain over date, region, service and "aws4_request"."""
    key = ("AWS4" + secret_key).encode("utf-8")
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode("utf-8"), hashlib.sha256).digest()
    return key


def compute_signature(secret_key: str, auth: Authorization, amz_date: str, creq: str) -> str:
    """Hex signature of a canonical request under the scope named in `auth`."""
    key = signing_key(secret_key, auth.date, auth.region, auth.service)
    sts = string_to_sign(amz_date, auth.scope, creq)
    return hmac.new(key, sts.encode("utf-8"), hashlib.sha256).hexdigest()


# --------------------------------------------------------------------------- verification


def parse_authorization(value: str) -> Authorization:
    """Parse an Authorization header; raise IncompleteSignatureException when malformed."""
    algorithm, _, rest = value.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise SigV4Error("IncompleteSignatureException",
                         f"Unsupported AWS 'algorithm': '{algorithm}'.")
    fields: dict[str, str] = {}
    for part in rest.split(","):
        key, sep, val = part.strip().partition("=")
        if sep:
            fields[key] = val.strip()
    missing = [k for k in ("Credential", "Signature", "SignedHeaders") if not fields.get(k)]
    if missing:
        raise SigV4Error("IncompleteSignatureException", " ".join(
            f"Authorization header requires '{k}' parameter." for k in missing))
    credential = fields["Credential"].split("/")
    if len(credential) != 5 or not re.fullmatch(r"\d{8}", credential[1]):
        raise SigV4Error("IncompleteSignatureException",
                         "Credential must have exactly 5 slash-delimited elements, e.g. "
                         "keyid/date/region/service/term, got '" + fields["Credential"] + "'")
    if not re.fullmatch(r"[0-9a-f]{64}", fields["Signature"]):
        raise SigV4Error("IncompleteSignatureException", "Signature must be 64 lowercase hex digits.")
    return Authorization(
        access_key=credential[0], date=credential[1], region=credential[2],
        service=credential[3], terminator=credential[4],
        signed_headers=tuple(fields["SignedHeaders"].split(";")), signature=fields["Signature"])


def parse_amz_date(value: str) -> datetime.datetime:
    """Parse an X-Amz-Date value (YYYYMMDDTHHMMSSZ, UTC)."""
    try:
        parsed = datetime.datetime.strptime(value, AMZ_DATE_FORMAT)
    except ValueError:
        raise SigV4Error("IncompleteSignatureException",
                         f"Date must be in ISO-8601 'basic format'. Got '{value}'.") from None
    return parsed.replace(tzinfo=datetime.timezone.utc)


def _check_credentials(auth: Authorization, headers: Headers,
                       credentials: Mapping[str, Credential]) -> Credential:
    """The credential for the access key; the session token must match when one is configured."""
    credential = credentials.get(auth.access_key)
    if credential is None:
        raise SigV4Error("UnrecognizedClientException", MSG_INVALID_TOKEN)
    token = header_value(headers, "x-amz-security-token")
    if credential.session_token is None:
        if token is not None:
            raise SigV4Error("UnrecognizedClientException", MSG_INVALID_TOKEN)
    elif token is None or not hmac.compare_digest(token.strip().encode(),
                                                  credential.session_token.encode()):
        raise SigV4Error("UnrecognizedClientException", MSG_INVALID_TOKEN)
    return credential


def _check_scope(auth: Authorization, amz_date: str, region: str, service: str) -> None:
    """The credential scope must name this region and service and the request's date."""
    if auth.date != amz_date[:8]:
        raise SigV4Error("InvalidSignatureException",
                         f"Date in Credential scope does not match YYYYMMDD from ISO-8601 version "
                         f"of date from HTTP: '{auth.date}' != '{amz_date[:8]}', from '{amz_date}'.")
    if auth.region != region:
        raise SigV4Error("InvalidSignatureException",
                         f"Credential should be scoped to a valid region. Expected '{region}', "
                         f"got '{auth.region}'.")
    if auth.service != service:
        raise SigV4Error("InvalidSignatureException",
                         f"Credential should be scoped to correct service: '{service}'.")
    if auth.terminator != "aws4_request":
        raise SigV4Error("InvalidSignatureException",
                         "Credential should be scoped with a valid terminator: 'aws4_request', "
                         f"not '{auth.terminator}'.")


def _check_clock(amz_date: str, now: datetime.datetime) -> None:
    """X-Amz-Date must be within 15 minutes of `now`."""
    signed_at = parse_amz_date(amz_date)
    if abs(signed_at - now) > MAX_CLOCK_SKEW:
        raise SigV4Error("InvalidSignatureException",
                         f"Signature expired: {amz_date} is more than 15 minutes away from the "
                         f"server time {now.strftime(AMZ_DATE_FORMAT)}.")


def _payload_hash(headers: Headers, body: bytes) -> str:
    """The payload hash to sign: the x-amz-content-sha256 header, which must match the body."""
    actual = hashlib.sha256(body).hexdigest()
    declared = header_value(headers, "x-amz-content-sha256")
    if declared is None:
        return actual
    declared = declared.strip()
    if not hmac.compare_digest(declared.encode(), actual.encode()):
        raise SigV4Error("InvalidSignatureException",
                         "The provided 'x-amz-content-sha256' header does not match what was "
                         "computed.")
    return declared


def verify_request(method: str, target: str, headers: Headers, body: bytes,
                   credentials: Mapping[str, Credential], region: str, service: str,
                   now: datetime.datetime | None = None, normalize: bool = True) -> Credential:
    """Verify a received request's SigV4 signature; return its credential or raise SigV4Error.

    `target` is the raw request target (path and query as sent), `headers` every received header
    in order (repeats included), `now` the server clock (default: current UTC time).
    """
    value = header_value(headers, "authorization")
    if value is None:
        raise SigV4Error("MissingAuthenticationTokenException", "Missing Authentication Token")
    auth = parse_authorization(value)
    amz_date = header_value(headers, "x-amz-date")
    if amz_date is None:
        raise SigV4Error("IncompleteSignatureException",
                         "Authorization header requires existence of either a 'X-Amz-Date' or a "
                         "'Date' header.")
    amz_date = amz_date.strip()
    for required in ("host", "x-amz-date"):
        if required not in auth.signed_headers:
            raise SigV4Error("InvalidSignatureException",
                             f"'{required}' must be a 'SignedHeader' in the AWS Authorization.")
    credential = _check_credentials(auth, headers, credentials)
    _check_scope(auth, amz_date, region, service)
    _check_clock(amz_date, now or datetime.datetime.now(datetime.timezone.utc))
    creq = canonical_request(method, target, headers, auth.signed_headers,
                             _payload_hash(headers, body), normalize)
    expected = compute_signature(credential.secret_key, auth, amz_date, creq)
    if not hmac.compare_digest(expected.encode(), auth.signature.encode()):
        raise SigV4Error("InvalidSignatureException", MSG_MISMATCH)
    return credential


def sign_request(method: str, target: str, headers: Headers, body: bytes, credential: Credential,
                 region: str, service: str, amz_date: str | None = None,
                 signed_headers: Sequence[str] | None = None) -> list[tuple[str, str]]:
    """Return `headers` plus X-Amz-Date, X-Amz-Security-Token (if any) and Authorization.

    For tests and tools that need hand-made requests; `signed_headers` (lowercase) defaults to
    every header in the result except Authorization.
    """
    amz_date = amz_date or datetime.datetime.now(datetime.timezone.utc).strftime(AMZ_DATE_FORMAT)
    result = list(headers) + [("X-Amz-Date", amz_date)]
    if credential.session_token:
        result.append(("X-Amz-Security-Token", credential.session_token))
    names = signed_headers or sorted({name.lower() for name, _ in result})
    auth = Authorization(credential.access_key, amz_date[:8], region, service, "aws4_request",
                         tuple(names), "")
    creq = canonical_request(method, target, result, names,
                             hashlib.sha256(body).hexdigest())
    signature = compute_signature(credential.secret_key, auth, amz_date, creq)
    result.append(("Authorization", f"{ALGORITHM} Credential={credential.access_key}/{auth.scope}, "
                                    f"SignedHeaders={';'.join(names)}, Signature={signature}"))
    return result


# --------------------------------------------------------------------------- self-test


def parse_raw_request(raw: bytes) -> tuple[str, str, list[tuple[str, str]], bytes]:
    """Split a test-suite request file into (method, target, headers, body).

    The request line's target may contain spaces; header continuation lines (starting with
    whitespace) are folded into the previous header's value.
    """
    head, _, body = raw.partition(b"\n\n")
    lines = head.decode("utf-8").split("\n")
    request_line = lines[0].rstrip("\r")
    method, _, rest = request_line.partition(" ")
    target = rest.rpartition(" ")[0]
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        line = line.rstrip("\r")
        if line[:1] in (" ", "\t") and headers:
            name, value = headers[-1]
            headers[-1] = (name, value + " " + line.strip())
        elif line:
            name, _, value = line.partition(":")
            headers.append((name, value))
    return method, target, headers, body


def _check_vector(case_dir: str) -> list[str]:
    """Check one test-suite folder; return a list of human-readable problems (empty = pass)."""
    with open(os.path.join(case_dir, "context.json"), encoding="utf-8") as f:
        context = json.load(f)

    def read(name: str) -> bytes:
        with open(os.path.join(case_dir, name), "rb") as f:
            return f.read()

    creds = context["credentials"]
    credential = Credential(creds["access_key_id"], creds["secret_access_key"], creds.get("token"))
    normalize = context.get("normalize", True)
    now = datetime.datetime.strptime(context["timestamp"], "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc)
    method, target, headers, body = parse_raw_request(read("header-signed-request.txt"))
    auth = parse_authorization(header_value(headers, "authorization") or "")
    amz_date = header_value(headers, "x-amz-date") or ""

    problems = []
    creq = canonical_request(method, target, headers, auth.signed_headers,
                             _payload_hash(headers, body), normalize)
    if creq != read("header-canonical-request.txt").decode("utf-8"):
        problems.append("canonical request differs")
    if string_to_sign(amz_date, auth.scope, creq) != read("header-string-to-sign.txt").decode():
        problems.append("string to sign differs")
    if compute_signature(credential.secret_key, auth, amz_date, creq) != \
            read("header-signature.txt").decode().strip():
        problems.append("signature differs")
    try:
        verify_request(method, target, headers, body, {credential.access_key: credential},
                       context["region"], context["service"], now=now, normalize=normalize)
    except SigV4Error as exc:
        problems.append(f"signed request rejected: {exc}")
    tampered = [(k, v) for k, v in headers if k.lower() != "authorization"] + [
        ("Authorization", header_value(headers, "authorization").replace(
            f"Signature={auth.signature}", "Signature=" + "0" * 64))]
    try:
        verify_request(method, target, tampered, body, {credential.access_key: credential},
                       context["region"], context["service"], now=now, normalize=normalize)
        problems.append("request with a wrong signature was accepted")
    except SigV4Error:
        pass
    return problems


def default_suite_dir() -> str:
    """$SIGV4_TEST_SUITE, else the repository's tests/aws/sigv4-test-suite."""
    repo_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return os.environ.get("SIGV4_TEST_SUITE") or os.path.join(
        repo_root, "tests", "aws", "sigv4-test-suite")


def self_test(suite_dir: str | None = None) -> dict[str, list[str]]:
    """Check every header-signing vector in the suite; map each case name to its problems.

    Raises FileNotFoundError when the suite folder holds no cases.
    """
    suite_dir = suite_dir or default_suite_dir()
    cases = sorted(name for name in os.listdir(suite_dir)
                   if os.path.isfile(os.path.join(suite_dir, name, "header-signed-request.txt")))
    if not cases:
        raise FileNotFoundError(f"no SigV4 test vectors under {suite_dir}")
    return {name: _check_vector(os.path.join(suite_dir, name)) for name in cases}


def main(argv: list[str]) -> int:
    """CLI: run the self-test over argv[1] (or the default suite); exit 1 on any failure."""
    results = self_test(argv[1] if len(argv) > 1 else None)
    for name, problems in results.items():
        print(f"{'FAIL' if problems else 'ok  '} {name}" + (": " + "; ".join(problems)
                                                           if problems else ""))
    failed = sum(1 for problems in results.values() if problems)
    print(f"{len(results) - failed}/{len(results)} vectors pass")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
