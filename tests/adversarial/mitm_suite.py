#!/usr/bin/env python3
"""The TLS man-in-the-middle suite: what a man in the middle learns from the function, for each
DB_TLS_MODE and each attack (mitm_proxy.py), through the real bootstrap and the local test bed.

For one engine, for each DB_TLS_MODE (disable, require, verify-ca, verify-full; and, except for
disable, again with "ssl": false in the secrets), for each attack, it rotates two fresh secrets
whose host and port are the man in the middle's, with DB_TLS_CA_FILE naming the real server's CA:
  - single user, every connection attacked;
  - alternating users, the connections before the admin's relayed untouched and the admin's
    (the masterarn secret's, which also points at the man in the middle) and later ones attacked.
    Which connection is the admin's is found first, in plaintext (DB_TLS_MODE=disable).
It then counts the credential bytes the man in the middle received, in plaintext or inside a TLS
session it terminated: every occurrence of a password of the secret (AWSCURRENT, AWSPENDING,
AWSPREVIOUS) or of the admin (any form, see leaks.py), plus every byte of every SQL statement.

Required (EXPECTED, see expectation()): 0 in every cell, except
  - DB_TLS_MODE=disable: the relays (strip, strip-tls-upstream, tls-relay) must see credentials;
    they are the control that proves the man in the middle can see them at all. PostgreSQL
    without TLS answers a cleartext password request by definition (no rule can stop it there).
  - DB_TLS_MODE=require does not authenticate the server, by definition: a man in the middle that
    terminates TLS with any certificate is the server as far as the client can tell. So tls-relay
    (both engines) and, for PostgreSQL, clear-password-tls are not required to be 0 (libpq 15 has
    no require_auth; channel_binding=require would refuse both).
  MySQL's clear-text plugins (mysql_clear_password, dialog) must be refused in every mode.

Prints the table; exits 1 if any required cell failed.
Usage: mitm_suite.py --engine mariadb|postgres [--modes disable,require,...] [--attacks ...]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import subprocess
import sys
import time
from typing import Any

import harness
from harness import ALTERNATING_USERS, CURRENT, PENDING, PREVIOUS, SINGLE_USER

import leaks
import mitm_proxy
import wire

MODES = ("disable", "require", "verify-ca", "verify-full")
RELAYS = ("strip", "strip-tls-upstream", "tls-relay")
SETTLE_SECONDS = 10  # how long a connection's thread may still run after the rotation ended


def expectation(engine: str, mode: str, attack: str) -> str:
    """"zero" (required: nothing seen), "login-only" (without TLS the login's own hash is sent
    by definition; no password and no SQL may be), "seen" (the control: something must be seen)
    or "allowed" (the mode cannot protect this by definition; reported, not checked)."""
    if mode == "disable":
        if attack in RELAYS:
            return "seen"
        return "login-only" if engine == "mariadb" else "allowed"
    if mode == "require" and (attack == "tls-relay" or
                              (engine == "postgres" and attack == "clear-password-tls")):
        return "allowed"
    return "zero"


@dataclasses.dataclass
class Cell:
    mode: str
    ssl: bool | None
    attack: str
    expected: str
    password_bytes: int = 0
    passwords: int = 0
    sql_bytes: int = 0
    statements: int = 0
    auth_bytes: int = 0  # authentication data sent outside TLS
    attacked_bytes: int = 0  # passwords and SQL on the attacked connections only
    notes: list[str] = dataclasses.field(default_factory=list)
    errors: list[str] = dataclasses.field(default_factory=list)

    @property
    def seen(self) -> int:
        return self.password_bytes + self.sql_bytes + self.auth_bytes

    @property
    def ok(self) -> bool:
        if self.errors:
            return False
        if self.expected == "zero":
            return self.seen == 0
        if self.expected == "login-only":
            return self.attacked_bytes == 0
        if self.expected == "seen":
            return self.seen > 0
        return True

    @property
    def row(self) -> str:
        return f"{self.mode}{', ssl false' if self.ssl is False else ''}"


def make_mitm_certificate(folder: str) -> tuple[str, str]:
    """A CA nobody trusts and a certificate for 127.0.0.1/localhost signed by it."""
    os.makedirs(folder, exist_ok=True)
    steps = [
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
         "/CN=man-in-the-middle CA (trusted by nobody)", "-keyout", "ca.key", "-out", "ca.pem",
         "-addext", "basicConstraints=critical,CA:TRUE", "-addext",
         "keyUsage=critical,keyCertSign,cRLSign"],
        ["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
         "-keyout", "mitm.key", "-out", "mitm.csr"],
        ["openssl", "x509", "-req", "-in", "mitm.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
         "-CAcreateserial", "-days", "2", "-extfile", "mitm.ext", "-out", "mitm.pem"],
    ]
    with open(os.path.join(folder, "mitm.ext"), "w", encoding="utf-8") as f:
        f.write("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
                "extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n")
    for argv in steps:
        result = subprocess.run(argv, cwd=folder, capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise harness.SuiteError(f"openssl failed: {result.stderr.strip()}")
    return os.path.join(folder, "mitm.pem"), os.path.join(folder, "mitm.key")


class MitmSuite:
    def __init__(self, engine: str, folder: str):
        self.engine = engine
        self.folder = folder
        self.db = harness.database(engine)
        self.tag = harness.run_id()
        cert, key = make_mitm_certificate(os.path.join(folder, "mitm-tls"))
        self.proxy = mitm_proxy.MitmProxy(engine, (self.db.host, self.db.port), cert, key)
        self.users = harness.UserPool(self.db, f"mitm{self.tag}{engine[0]}_")
        self.admin_first: int | None = None
        self.aws: harness.Aws | None = None
        self.admin_arns: dict[bool | None, str] = {}
        self.attempts = 0

    def close(self) -> None:
        self.proxy.close()
        if self.aws:
            self.aws.close()

    def _document(self, user: str, password: str, ssl: bool | None,
                  **fields: Any) -> dict[str, Any]:
        document = self.db.secret(user, password, **fields)
        document["host"], document["port"] = "127.0.0.1", self.proxy.port
        if ssl is not None:
            document["ssl"] = ssl
        return document

    def _start_mode(self, mode: str) -> None:
        if self.aws:
            self.aws.close()
        self.aws = harness.Aws(os.path.join(self.folder, mode),
                               {"DB_TLS_MODE": mode, "DB_TLS_CA_FILE": self.db.ca})
        self.admin_arns = {
            ssl: self.aws.create_secret(
                f"mitm/{self.tag}/{mode}/admin-{ssl}",
                self._document(self.db.admin_user, self.db.admin_password, ssl))
            for ssl in (None, False)}

    def _settle(self) -> list[mitm_proxy.Recording]:
        """The recordings, once every connection of the rotation has been served."""
        if not self.proxy.wait_idle(SETTLE_SECONDS):
            raise harness.SuiteError(f"a connection was still open {SETTLE_SECONDS} s after the "
                                     "rotation ended")
        return list(self.proxy.recordings)

    def _attempt(self, strategy: str, ssl: bool | None, attack: str | None,
                 first_attacked: int) -> tuple[str | None, list[mitm_proxy.Recording],
                                               dict[str, str]]:
        """Rotate a fresh secret through the man in the middle: (error, recordings, passwords)."""
        assert self.aws is not None
        self.attempts += 1
        user = self.users.take()
        fields: dict[str, Any] = {"rotationStrategy": strategy}
        if strategy == ALTERNATING_USERS:
            fields["masterarn"] = self.admin_arns[ssl]
        arn = self.aws.create_secret(f"mitm/{self.tag}/{self.attempts}",
                                     self._document(user.name, user.password, ssl, **fields))
        self.proxy.arm(attack, first_attacked)
        failed = self.aws.rotate(arn)
        recordings = self._settle()
        self.proxy.arm(None)
        labels = {user.password: ["initial"], self.db.admin_password: ["admin"]}
        for stage in (CURRENT, PENDING, PREVIOUS):
            document = self.aws.value(arn, stage)
            if document and isinstance(document.get("password"), str):
                labels.setdefault(document["password"], []).append(stage)
        # One label per distinct password, so that no occurrence counts twice.
        passwords = {"/".join(names): password for password, names in labels.items()}
        return failed, recordings, passwords

    def find_admin_connection(self) -> int:
        """Which connection of an alternating-users rotation is the admin's first (in
        plaintext, DB_TLS_MODE=disable, nothing attacked)."""
        failed, recordings, _ = self._attempt(ALTERNATING_USERS, None, None, 1)
        if failed:
            raise harness.SuiteError(f"a rotation through the relay failed: {failed}")
        for recording in sorted(recordings, key=lambda r: r.number):
            parser = wire.conversation(self.engine)
            parser.strict = False
            users = [e.username for e in parser.feed_client(bytes(recording.raw))
                     if e.kind == "login"]
            if self.db.admin_user in users:
                return recording.number
        raise harness.SuiteError("no connection of the rotation logged in as the admin")

    def run_cell(self, mode: str, ssl: bool | None, attack: str) -> Cell:
        cell = Cell(mode, ssl, attack, expectation(self.engine, mode, attack))
        assert self.admin_first is not None
        for strategy, first in ((SINGLE_USER, 1), (ALTERNATING_USERS, self.admin_first)):
            failed, recordings, passwords = self._attempt(strategy, ssl, attack, first)
            finder = leaks.Finder(passwords)
            what = "single user" if strategy == SINGLE_USER else "alternating users (admin)"
            outcome = "rotated" if failed is None else "failed"
            for recording in recordings:
                raw, inner = bytes(recording.raw), bytes(recording.inner)
                hits = leaks.find_lines(finder, raw) + leaks.find_lines(finder, inner)
                plain = wire.client_events(self.engine, raw)
                statements = [e.sql for e in plain + wire.client_events(self.engine, inner)
                              if e.kind == "statement"]
                # Authentication data counts where it crossed the network outside TLS.
                auth = sum(e.auth for e in plain)
                cell.passwords += len(hits)
                cell.password_bytes += sum(hit.length for hit in hits)
                cell.statements += len(statements)
                cell.sql_bytes += sum(len(s) for s in statements)
                cell.auth_bytes += auth
                if recording.attacked:
                    cell.attacked_bytes += sum(h.length for h in hits) + sum(map(len, statements))
                if hits or statements or auth:
                    labels = sorted({hit.label for hit in hits})
                    cell.notes.append(
                        f"{what}, connection {recording.number}"
                        f"{' (attacked)' if recording.attacked else ''}: "
                        f"{len(hits)} password(s) {labels}, {len(statements)} statement(s), "
                        f"{auth} bytes of authentication outside TLS; "
                        f"{'; '.join(recording.events)}")
            if not any(r.attacked for r in recordings):
                cell.errors.append(f"{what}: the rotation ({outcome}) never reached the "
                                   f"attacked connection {first}")
        return cell

    def run(self, modes: list[str], attacks: list[str]) -> list[Cell]:
        cells = []
        for mode in modes:
            self._start_mode(mode)
            if self.admin_first is None:
                if mode != "disable":
                    self._start_mode("disable")
                self.admin_first = self.find_admin_connection()
                if mode != "disable":
                    self._start_mode(mode)
            for ssl in (None,) if mode == "disable" else (None, False):
                for attack in attacks:
                    cells.append(self.run_cell(mode, ssl, attack))
        return cells


def render(engine: str, cells: list[Cell], attacks: list[str]) -> str:
    rows_seen: list[str] = []
    for cell in cells:
        if cell.row not in rows_seen:
            rows_seen.append(cell.row)
    by_key = {(c.row, c.attack): c for c in cells}
    rows = []
    for row in rows_seen:
        line: list[Any] = [row]
        for attack in attacks:
            cell = by_key.get((row, attack))
            if cell is None:
                line.append("")
                continue
            mark = {"zero": "", "login-only": " login", "seen": " control",
                    "allowed": " allowed"}[cell.expected]
            line.append(f"{cell.seen}{mark}{'' if cell.ok else ' FAIL'}")
        rows.append(line)
    return harness.table(["DB_TLS_MODE, secret"] + attacks, rows)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engine", choices=("mariadb", "postgres"), required=True)
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--attacks", default="")
    args = parser.parse_args(argv)
    modes = [m for m in args.modes.split(",") if m]
    attacks = [a for a in args.attacks.split(",") if a] or list(mitm_proxy.ATTACKS[args.engine])

    folder, kept = harness.work_dir(f"mitm-{args.engine}")
    started = time.monotonic()
    try:
        suite = MitmSuite(args.engine, folder)
        try:
            cells = suite.run(modes, attacks)
        finally:
            suite.close()
    except harness.SuiteError as exc:
        print(f"MITM suite: {exc}", file=sys.stderr)
        return 1
    finally:
        harness.remove_unless_kept(folder, kept)
    label = harness.ENGINE_LABELS[args.engine]
    print(f"MITM suite: {label}: credential bytes the man in the middle saw, per DB_TLS_MODE "
          f"and attack ({suite.attempts} rotations, {time.monotonic() - started:.0f} s)")
    print(render(args.engine, cells, attacks))
    print("  credential bytes = password occurrences + SQL statements + authentication data sent "
          "outside TLS.\n  Required: 0. 'login': without TLS the login's own hash is sent; the "
          "attacked connections must show no password and no SQL. 'control': must be > 0 (proves the proxy sees credentials).\n"
          "  'allowed': the mode cannot protect this by definition (see mitm_suite.py). "
          "FAIL: not as required.")
    failed = [c for c in cells if not c.ok]
    for cell in cells:
        if cell.ok and cell.expected != "allowed":
            continue
        if not cell.notes and not cell.errors:
            continue
        print(f"{'FAILED' if not cell.ok else 'allowed'} {label} {cell.row} {cell.attack}: "
              f"{cell.seen} bytes ({cell.passwords} password occurrence(s), {cell.password_bytes}"
              f" bytes; {cell.statements} statement(s), {cell.sql_bytes} bytes; "
              f"{cell.auth_bytes} bytes of authentication outside TLS)")
        for line in cell.errors + cell.notes:
            print(f"    {line}")
    print(f"MITM suite: {label}: " + ("passed" if not failed else
                                      f"{len(failed)} of {len(cells)} cells not as required"))
    return 0 if not failed else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
