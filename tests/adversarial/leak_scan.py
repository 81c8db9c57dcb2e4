#!/usr/bin/env python3
"""The leak scan: after the integration tests, search every output for every password.

Passwords searched:
  - every SecretString any local Secrets Manager received during the run, stored or refused (its
    "password" field; the whole value when it is not a JSON object; see secret_string_passwords),
    and every password it
    generated (GetRandomPassword) - from the journals the servers write under
    $SECRET_ROTATOR_TEST_OUTPUT_DIR/secret-values/ (local/secretsmanager_server.py);
  - the database servers' admin passwords (their server.env).
Outputs searched:
  - everything under the test output folder (the function logs, the local Secrets Manager and
    Lambda logs, the suites' folders), except the journals themselves;
  - the ctest output files (Testing/Temporary/LastTest*.log). CTest writes them only when it
    ends, so inside the run they are still empty: test.sh searches them once more afterwards
    (--ctest-logs-only);
  - the servers' logs: MariaDB's general and error logs, PostgreSQL's log (log_statement = 'all'),
    and any other *.log in the servers' folders.
Each password is searched in every form it could take (leaks.py: plain, SQL- and JSON-escaped,
URL-encoded, hex, base64; and again with every backslash escape taken out), and any run of 16 or
more of its characters counts.

Prints a table of files and hits (never a password: a hit is shown with every password in its
line masked) and exits 1 on any hit, or when a server log it must read is missing.
Usage: leak_scan.py --output-dir DIR [--ctest-dir DIR] [--server mariadb=DIR]
       [--server postgres=DIR] [--max-examples N]
       leak_scan.py --output-dir DIR --ctest-dir DIR --ctest-logs-only
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import re
import sys
import time

import harness
import leaks

VALUES_FOLDER = "secret-values"
# Passwords a test exposes on purpose, through a behaviour the README documents: one JSON file
# each, {"value": ..., "file": basename of the one log allowed to hold it, "reason": ...}. Their
# hits in that log are counted and listed apart; anywhere else they are leaks like any other.
EXPOSURES_FOLDER = "documented-exposures"
DOCUMENTED = "documented: "
REQUIRED_LOGS = {"mariadb": ("general.log", "error.log"), "postgres": ("postgres.log",)}
ADMIN_VARIABLES = {"mariadb": "MARIADB_ADMIN_PASSWORD", "postgres": "PG_ADMIN_PASSWORD"}


def journal_passwords(output_dir: str) -> tuple[dict[str, str], int]:
    """{password: kind} from the Secrets Manager journals, and how many entries were read."""
    found: dict[str, str] = {}
    entries = 0
    for path in sorted(glob.glob(os.path.join(output_dir, VALUES_FOLDER, "*.jsonl"))):
        with open(path, encoding="utf-8") as f:
            for line in f:
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue
                entries += 1
                if isinstance(entry.get("generated"), str):
                    found.setdefault(entry["generated"], "generated password")
                if isinstance(entry.get("admin"), str):
                    found.setdefault(entry["admin"], "database admin password")
                text = entry.get("secretString")
                if not isinstance(text, str):
                    continue
                for password, kind in secret_string_passwords(text):
                    found.setdefault(password, kind)
    return found, entries


def documented_exposures(output_dir: str) -> dict[str, tuple[str, str]]:
    """{value: (label, allowed log's basename)} from EXPOSURES_FOLDER."""
    found = {}
    for path in sorted(glob.glob(os.path.join(output_dir, EXPOSURES_FOLDER, "*.json"))):
        with open(path, encoding="utf-8") as f:
            entry = json.load(f)
        found[entry["value"]] = (DOCUMENTED + entry["reason"], entry["file"])
    return found


WHOLE_VALUE = "stored secret value (searched whole)"
PASSWORD_FIELD = re.compile(r'"password"\s*:\s*"((?:[^"\\]|\\.)*)"')


def secret_string_passwords(text: str) -> list[tuple[str, str]]:
    """The passwords in one SecretString: a JSON object's "password"; in a malformed object
    (tests store those on purpose) every "password" field a pattern finds; any other value whole,
    and only whole (a piece of it may be a user name that every log names), unless it has fewer
    than 5 distinct characters (such as a test's 64 KiB of "x"); and a "password=..." in it."""
    try:
        document = json.loads(text)
    except ValueError:
        document = None
    if isinstance(document, dict):
        password = document.get("password")
        return [(password, "password of a stored secret")] if isinstance(password, str) else []
    if document is None and text.lstrip().startswith("{"):
        found = []
        for match in PASSWORD_FIELD.finditer(text):
            try:
                found.append((json.loads(f'"{match.group(1)}"'), "password of a malformed secret"))
            except ValueError:
                found.append((match.group(1), "password of a malformed secret"))
        return found
    found = [(m.group(1), "password of a malformed secret")
             for m in re.finditer(r"\bpassword=(\S+)", text)]
    if len(set(text)) >= 5:
        # Searched whole only: a piece of it may be a user name that every log names.
        found.append((text, WHOLE_VALUE))
    return found


def files_to_scan(output_dir: str, ctest_dir: str | None,
                  servers: dict[str, str]) -> tuple[list[str], list[str]]:
    """(files, problems): the outputs to read; problems name required logs that are missing."""
    files, problems = [], []
    skipped = {os.path.join(os.path.abspath(output_dir), folder)
               for folder in (VALUES_FOLDER, EXPOSURES_FOLDER)}
    for root, dirs, names in os.walk(output_dir):
        if os.path.abspath(root) in skipped:
            dirs[:] = []
            continue
        dirs[:] = [d for d in dirs if os.path.abspath(os.path.join(root, d)) not in skipped]
        files += [os.path.join(root, name) for name in names]
    if ctest_dir:
        files += sorted(glob.glob(os.path.join(ctest_dir, "LastTest*.log")))
    for kind, folder in servers.items():
        for name in REQUIRED_LOGS[kind]:
            if not os.path.isfile(os.path.join(folder, name)):
                problems.append(f"the {kind} server's {name} is missing in {folder}")
        files += sorted(glob.glob(os.path.join(folder, "*.log")))
    return sorted(set(f for f in files if os.path.isfile(f) and not os.path.islink(f))), problems


def finder_items(passwords: dict[str, str]) -> list[tuple[str, ...]]:
    return [(kind, password, "whole") if kind == WHOLE_VALUE else (kind, password)
            for password, kind in passwords.items()]


def remember_admin_password(output_dir: str, password: str) -> None:
    """Journal an admin password next to the Secrets Manager's (owner-only), for the search of
    the CTest logs after ctest (server.env is gone by then)."""
    folder = os.path.join(output_dir, VALUES_FOLDER)
    os.makedirs(folder, mode=0o700, exist_ok=True)
    fd = os.open(os.path.join(folder, "server-admins.jsonl"),
                 os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.write(fd, (json.dumps({"admin": password}) + "\n").encode())
    finally:
        os.close(fd)


def scan_ctest_logs(args: argparse.Namespace) -> int:
    """CTest writes Testing/Temporary/LastTest.log only when it ends, so test.sh searches it
    afterwards, for the same passwords (the admins' journaled by the scan inside the run)."""
    passwords, entries = journal_passwords(args.output_dir)
    finder = leaks.Finder(finder_items(passwords))
    files = sorted(glob.glob(os.path.join(args.ctest_dir or ".", "LastTest*.log")))
    total = 0
    for path in files:
        with open(path, "rb") as f:
            data = f.read()
        hits = leaks.find_lines(finder, data)
        total += len(hits)
        print(f"leak scan of the CTest logs: {path}: {len(data)} bytes, {len(hits)} hit(s)")
        for hit in sorted(hits, key=lambda h: h.line)[:args.max_examples]:
            print(f"  {path}:{hit.line}: {hit.label}: {masked_line(data, hit, hits)}")
    if not files:
        print(f"leak scan of the CTest logs: ERROR: no LastTest*.log in {args.ctest_dir}")
        return 1
    print(f"leak scan of the CTest logs: {len(finder)} passwords ({entries} journal entries), "
          f"{total} occurrence(s) found")
    return 1 if total else 0


def masked_line(data: bytes, hit: leaks.LineHit, hits: list[leaks.LineHit],
                width: int = 160) -> str:
    """The line around `hit` with every hit in it replaced by <password>, shortened. A hit
    found only once escapes were taken out has no exact place: its line is not shown."""
    if any(h.start is None and h.line == hit.line for h in hits):
        return "(found once backslash escapes are taken out; the line is not shown)"
    assert hit.start is not None
    start = data.rfind(b"\n", 0, hit.start) + 1
    end = data.find(b"\n", hit.start)
    end = len(data) if end < 0 else end
    pieces, position = [], start
    for other in hits:
        if other.start is None or other.start + other.length <= start or other.start >= end:
            continue
        pieces.append(data[position:max(position, other.start)])
        pieces.append(b"<password>")
        position = max(position, other.start + other.length)
    pieces.append(data[position:end])
    text = b"".join(pieces).decode("utf-8", "replace").replace("\t", " ")
    text = "".join(c if c.isprintable() else "?" for c in text)
    return text if len(text) <= width else text[:width] + "..."


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output-dir", required=True)
    parser.add_argument("--ctest-dir")
    parser.add_argument("--server", action="append", default=[],
                        help="KIND=DIR with KIND mariadb or postgres")
    parser.add_argument("--max-examples", type=int, default=5)
    parser.add_argument("--ctest-logs-only", action="store_true",
                        help="search only the CTest logs (complete once ctest has finished)")
    args = parser.parse_args(argv)
    if args.ctest_logs_only:
        return scan_ctest_logs(args)
    started = time.monotonic()

    servers = {}
    for value in args.server:
        kind, _, folder = value.partition("=")
        if kind not in REQUIRED_LOGS or not folder:
            parser.error(f"--server expects mariadb=DIR or postgres=DIR, not {value!r}")
        servers[kind] = folder
    passwords, entries = journal_passwords(args.output_dir)
    allowed_file: dict[str, str] = {}  # documented label -> the one log that may hold it
    for value, (label, file) in documented_exposures(args.output_dir).items():
        passwords[value] = label
        allowed_file[label] = file
    problems, notes = [], []
    for kind, folder in list(servers.items()):
        path = os.path.join(folder, "server.env")
        if not os.path.exists(path):
            # A run of some tests only (ctest -R) may not have started this server.
            notes.append(f"the {kind} server does not run ({path} is missing): its logs are not "
                         "scanned")
            del servers[kind]
            continue
        try:
            env = harness.stack.read_env_file(path)
            passwords.setdefault(env[ADMIN_VARIABLES[kind]], f"{kind} admin password")
            remember_admin_password(args.output_dir, env[ADMIN_VARIABLES[kind]])
        except (OSError, KeyError) as exc:
            problems.append(f"cannot read the {kind} admin password from {path}: {exc}")
    finder = leaks.Finder(finder_items(passwords))
    files, missing = files_to_scan(args.output_dir, args.ctest_dir, servers)
    problems += missing
    if not passwords:
        problems.append("no password to search for: no journal and no admin password")

    kinds: dict[str, int] = {}
    for kind in passwords.values():
        kinds[kind] = kinds.get(kind, 0) + 1
    print(f"leak scan: {len(finder)} distinct passwords ({entries} journal entries; "
          + ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
          + (f"; {len(finder.skipped)} shorter than {leaks.MIN_PASSWORD} characters not searched"
             if finder.skipped else "") + ")")

    rows, examples, total_hits, total_bytes = [], [], 0, 0
    documented: dict[str, int] = {}
    base = os.path.commonpath([os.path.abspath(f) for f in files]) if files else ""
    for path in files:
        with open(path, "rb") as f:
            data = f.read()
        total_bytes += len(data)
        hits = leaks.find_lines(finder, data)
        for hit in [h for h in hits if allowed_file.get(h.label) == os.path.basename(path)]:
            documented[hit.label] = documented.get(hit.label, 0) + 1
            hits.remove(hit)
        total_hits += len(hits)
        shown = os.path.relpath(path, base) if base else path
        if hits or any(path.endswith(name) for names in REQUIRED_LOGS.values()
                       for name in names) or "LastTest" in path:
            by_kind: dict[str, int] = {}
            for hit in hits:
                by_kind[hit.label] = by_kind.get(hit.label, 0) + 1
            rows.append([shown, len(data), len(hits),
                         ", ".join(f"{n} {k}" for k, n in sorted(by_kind.items()))])
        for hit in sorted(hits, key=lambda h: h.line)[:args.max_examples]:
            examples.append(f"  {shown}:{hit.line}: {hit.label}: {masked_line(data, hit, hits)}")
    print(f"leak scan: {len(files)} files, {total_bytes} bytes, under {base or '-'} "
          f"({time.monotonic() - started:.1f} s); the server logs and ctest logs are always "
          "listed, other files only with hits")
    print(harness.table(["file", "bytes", "hits", "passwords found"], rows))
    if examples:
        print(f"first {args.max_examples} hits per file (every password in the line masked):")
        print("\n".join(examples))
    for label, count in sorted(documented.items()):
        print(f"leak scan: {count} documented exposure(s), not counted as leaks: "
              f"{label[len(DOCUMENTED):]} (only in {allowed_file[label]})")
    for note in notes:
        print(f"leak scan: NOTE: {note}")
    for problem in problems:
        print(f"leak scan: ERROR: {problem}")
    print(f"leak scan: {total_hits} password occurrence(s) found"
          + ("" if not problems else f"; {len(problems)} error(s)"))
    return 1 if total_hits or problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
