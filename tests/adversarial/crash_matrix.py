#!/usr/bin/env python3
"""The crash matrix: SIGKILL the function at every Secrets Manager call and every SQL statement of a
rotation, then retry as Secrets Manager does, and check that nothing is lost.

One run covers one engine, one strategy and one rotation ("first": a fresh secret; "later": its
second rotation, after a complete first one). For every kill point it makes a fresh user and
secret, arms the point, runs RotateSecret through the local test bed with the real bootstrap, and
then checks the state the crash left:
  - labels: exactly one AWSCURRENT; AWSPENDING on the rotation's version only; AWSCURRENT and
    AWSPREVIOUS where they were, or (once finishSecret's move is done) moved by one;
  - logins, directly on the server: AWSCURRENT logs in, except inside single-user's window (a
    statement that sets the password reached the server and AWSCURRENT has not moved yet), where
    AWSPENDING must log in instead; some labelled version always logs in (else: a lockout);
then retries the rotation as Secrets Manager would (RotateSecret with the same ClientRequestToken,
which reruns the four steps on the same AWSPENDING version; or, when finishSecret's move was
already done, the failed step again with the same token) and checks that it converged: AWSCURRENT
on the new version and logging in, AWSPREVIOUS on the old one (for single user no longer logging in,
for alternating users still logging in), AWSPENDING nowhere else.

Kill points:
  - Secrets Manager call N, before or after the endpoint applies it (the local Secrets Manager's
    /_test/kill fault; only requests signed with the function's key count);
  - SQL statement N, before it reaches the server or after the server answered it (crash_proxy.py
    between the function and the database, so DB_TLS_MODE=disable: TLS would hide the statements,
    and crash behaviour does not depend on it). Both the secret and its masterarn secret point at
    the proxy, so the admin's statements count too.
N runs from 1 until a rotation ends without reaching it, so new calls or statements are covered
without changing this file.

Prints a table and writes the results as JSON (--results); exits 1 if any point failed.
Usage: crash_matrix.py --engine mariadb|postgres --strategy single-user|alternating-users
       --rotation first|later [--results FILE] [--max-points N]
       crash_matrix.py --summary FOLDER   (the table of all eight runs' results files)
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import sys
import time
from typing import Any

import harness
from harness import ALTERNATING_USERS, CURRENT, PENDING, PREVIOUS, SINGLE_USER

import crash_proxy
import function_kill

KINDS = (("sm", "before"), ("sm", "after"), ("sql", "before"), ("sql", "after"))
KIND_LABELS = {("sm", "before"): "Secrets Manager call, before it is applied",
               ("sm", "after"): "Secrets Manager call, after it is applied",
               ("sql", "before"): "SQL statement, before it reaches the server",
               ("sql", "after"): "SQL statement, after the server answered"}
STEP = re.compile(r"rotation step (\w+) failed")
MAX_POINTS = 300  # per sequence: far more than a rotation has; a bound against a runaway loop


@dataclasses.dataclass
class Point:
    kind: str
    when: str
    index: int
    step: str = ""  # the step the function was killed in
    what: str = ""  # the operation or the statement's first word
    in_window: bool = False  # AWSCURRENT did not log in, inside single-user's window
    lockout: bool = False
    converged: bool = False
    problems: list[str] = dataclasses.field(default_factory=list)
    final: bool = False  # no kill fired: the rotation failed on its own; later points would too

    @property
    def name(self) -> str:
        return f"{self.kind} #{self.index} {self.when} ({self.step or '?'}: {self.what or '?'})"


def short(version: str | None) -> str:
    return version[:8] if version else "none"


class CrashMatrix:
    def __init__(self, engine: str, strategy: str, rotation: str, folder: str):
        self.engine, self.strategy, self.rotation = engine, strategy, rotation
        self.db = harness.database(engine)
        self.tag = harness.run_id()
        self.plan = crash_proxy.KillPlan(self._stop_function, function_kill.kill)
        self.proxy = crash_proxy.StatementKillProxy(engine, (self.db.host, self.db.port),
                                                    self.plan)
        self.aws = harness.Aws(folder, {"DB_TLS_MODE": "disable",
                                        "ROTATION_STRATEGY": strategy})
        short_name = f"{engine[0]}{'s' if strategy == SINGLE_USER else 'a'}{rotation[0]}"
        self.users = harness.UserPool(self.db, f"cm{self.tag}{short_name}_")
        self.admin_arn = None
        if strategy == ALTERNATING_USERS:
            self.admin_arn = self.aws.create_secret(
                f"crash/{self.tag}/admin", self._document(self.db.admin_user,
                                                          self.db.admin_password))

    def close(self) -> None:
        self.proxy.close()
        self.aws.close()

    def _stop_function(self) -> int:
        pid = function_kill.function_pid(self.aws.local.lambda_url)
        function_kill.stop(pid)
        return pid

    def _document(self, user: str, password: str, **fields: Any) -> dict[str, Any]:
        document = self.db.secret(user, password, **fields)
        document["host"], document["port"] = "127.0.0.1", self.proxy.port
        return document

    # -- one point

    def run_point(self, kind: str, when: str, index: int) -> Point | None:
        """Kill at one point; None when the rotation never reached it."""
        point = Point(kind, when, index)
        user = self.users.take()
        fields: dict[str, Any] = {"rotationStrategy": self.strategy}
        if self.admin_arn:
            fields["masterarn"] = self.admin_arn
        arn = self.aws.create_secret(f"crash/{self.tag}/{kind}-{when}-{index}",
                                     self._document(user.name, user.password, **fields))
        if self.rotation == "later":
            failed = self.aws.rotate(arn)
            if failed:
                point.problems.append(f"the first rotation (before the kill) failed: {failed}")
                point.final = True
                return point
        _, before = harness.label_holders(self.aws.versions(arn))
        c0, p0 = before.get(CURRENT), before.get(PREVIOUS)

        if kind == "sm":
            self.aws.local.arm_kill(index, when)
        self.plan.arm(index if kind == "sql" else None, when)
        failed = self.aws.rotate(arn)
        sql = self.plan.disarm()
        point.problems += sql.errors
        if kind == "sm":
            status = self.aws.local.kill_status()
            self.aws.local.clear_kill()
            fired = status["fired"] is not None
            if status.get("error"):
                point.problems.append(f"the kill fault failed: {status['error']}")
            if fired:
                point.what = status["fired"]["operation"]
        else:
            fired = sql.fired
            if fired and index <= len(sql.verbs):
                point.what = sql.verbs[index - 1]
        if not fired:
            if failed:
                point.problems.append(f"a rotation that was not killed failed: {failed}")
                point.final = True
                return point
            return None
        match = STEP.search(failed or "")
        point.step = match.group(1) if match else ""
        if failed is None:
            point.problems.append("the function was killed but RotateSecret succeeded")
        elif "Runtime.ExitError" not in failed:
            point.problems.append(f"the step failed otherwise than by the kill: {failed}")

        token = self._check_crash_state(point, arn, c0, p0, sql.password_statement_forwarded)
        if token is not None:
            self._recover_and_check(point, arn, c0, token)
        return point

    def _check_crash_state(self, point: Point, arn: str, c0: str | None, p0: str | None,
                           password_sent: bool) -> str | None:
        """Check labels and logins right after the crash; return the rotation's version."""
        holders, single = harness.label_holders(self.aws.versions(arn))
        for label, versions in holders.items():
            if len(versions) > 1:
                point.problems.append(f"after the crash {label} is on {len(versions)} versions")
        current, pending, previous = single.get(CURRENT), single.get(PENDING), single.get(PREVIOUS)
        if pending is None or pending in (c0, p0):
            point.problems.append(f"after the crash AWSPENDING is on {short(pending)}, not on "
                                  "the rotation's new version")
            pending = None
        if (current, previous) not in ((c0, p0), (pending, c0)):
            point.problems.append(
                f"after the crash AWSCURRENT/AWSPREVIOUS are on {short(current)}/"
                f"{short(previous)}; expected {short(c0)}/{short(p0)} or, once finishSecret "
                f"moved AWSCURRENT, {short(pending)}/{short(c0)}")
        docs = {label: self.aws.value(arn, label) if single.get(label) else None
                for label in (CURRENT, PENDING, PREVIOUS)}

        def credentials(label: str) -> tuple[str, str] | None:
            document = docs[label]
            return (document["username"], document["password"]) if document else None

        # AWSPENDING and AWSPREVIOUS matter only when AWSCURRENT does not log in.
        current_ok, = harness.logins(self.db, [credentials(CURRENT)])
        pending_ok = previous_ok = None
        if not current_ok:
            pending_ok, previous_ok = harness.logins(
                self.db, [credentials(PENDING), credentials(PREVIOUS)])
        if not current_ok:
            window = (self.strategy == SINGLE_USER and password_sent and current == c0)
            if window and pending_ok:
                point.in_window = True
            elif window:
                point.problems.append("inside single-user's window neither AWSCURRENT nor "
                                      "AWSPENDING logs in")
            else:
                point.problems.append("after the crash AWSCURRENT does not log in (outside "
                                      "single-user's window)")
        if not (current_ok or pending_ok or previous_ok):
            point.lockout = True
            point.problems.append("after the crash no labelled version logs in: locked out")
        return pending

    def _recover_and_check(self, point: Point, arn: str, c0: str | None, token: str) -> None:
        """Retry as Secrets Manager would; check that the rotation converged."""
        _, single = harness.label_holders(self.aws.versions(arn))
        if single.get(CURRENT) != token:
            failed = self.aws.rotate(arn, token=token)
            if failed:
                point.problems.append(f"the retried rotation failed: {failed}")
                return
        else:
            ok, answer = self.aws.local.invoke({"Step": point.step or "finishSecret",
                                                "SecretId": arn, "ClientRequestToken": token})
            if not ok:
                point.problems.append(f"the retried {point.step} failed: "
                                      f"{answer.get('errorType')}: {answer.get('errorMessage')}")
                return
        holders, single = harness.label_holders(self.aws.versions(arn))
        before = len(point.problems)
        for label, versions in holders.items():
            if len(versions) > 1:
                point.problems.append(f"after the retry {label} is on {len(versions)} versions")
        if single.get(CURRENT) != token or single.get(PREVIOUS) != c0 or \
                single.get(PENDING) not in (None, token):
            point.problems.append(
                f"after the retry AWSCURRENT/AWSPREVIOUS/AWSPENDING are on "
                f"{short(single.get(CURRENT))}/{short(single.get(PREVIOUS))}/"
                f"{short(single.get(PENDING))}; expected {short(token)}/{short(c0)}/"
                f"{short(token)} or none")
        current, previous = self.aws.value(arn, CURRENT), self.aws.value(arn, PREVIOUS)
        current_ok, previous_ok = harness.logins(
            self.db, [(d["username"], d["password"]) if d else None for d in (current, previous)])
        if not current_ok:
            point.lockout = True
            point.problems.append("after the retry AWSCURRENT does not log in")
        if self.strategy == SINGLE_USER and previous_ok:
            point.problems.append("after the retry the old password (AWSPREVIOUS) still logs in: "
                                  "the password was not changed")
        if self.strategy == ALTERNATING_USERS and not previous_ok:
            point.problems.append("after the retry the previous user (AWSPREVIOUS) no longer logs "
                                  "in: alternating users must leave it alone")
        point.converged = len(point.problems) == before

    # -- the whole matrix

    def run(self, max_points: int) -> list[Point]:
        points: list[Point] = []
        for kind, when in KINDS:
            for index in range(1, max_points + 1):
                point = self.run_point(kind, when, index)
                if point is None:
                    break
                points.append(point)
                if point.final:
                    break
            else:
                points.append(Point(kind, when, max_points + 1,
                                    problems=[f"still reaching new points after {max_points}"]))
        return points


def summary_rows(points: list[Point]) -> list[list[Any]]:
    rows = []
    for kind, when in KINDS + (("all", ""),):
        chosen = [p for p in points if kind == "all" or (p.kind, p.when) == (kind, when)]
        rows.append([KIND_LABELS.get((kind, when), "all kill points"), len(chosen),
                     sum(p.converged for p in chosen), sum(p.lockout for p in chosen),
                     sum(p.in_window for p in chosen), sum(bool(p.problems) for p in chosen)])
    return rows


HEADERS = ["kill point", "points", "converged", "lockouts", "in window", "failed"]


def title(engine: str, strategy: str, rotation: str) -> str:
    return (f"{harness.ENGINE_LABELS[engine]}, {harness.STRATEGY_LABELS[strategy]}, "
            f"{rotation} rotation")


def summary(folder: str) -> int:
    """The table of every pair from the results files in `folder`; 1 if one is missing or any
    point failed."""
    rows, missing, failed = [], [], 0
    totals = [0, 0, 0, 0, 0]
    for engine in ("mariadb", "postgres"):
        for strategy in (SINGLE_USER, ALTERNATING_USERS):
            for rotation in ("first", "later"):
                path = os.path.join(folder, f"{engine}-{strategy}-{rotation}.json")
                try:
                    with open(path, encoding="utf-8") as f:
                        points = [Point(**p) for p in json.load(f)["points"]]
                except (OSError, ValueError, TypeError) as exc:
                    missing.append(f"{path}: {exc}")
                    continue
                counts = [len(points), sum(p.converged for p in points),
                          sum(p.lockout for p in points), sum(p.in_window for p in points),
                          sum(bool(p.problems) for p in points)]
                failed += counts[4]
                totals = [a + b for a, b in zip(totals, counts)]
                rows.append([f"{harness.ENGINE_LABELS[engine]}, "
                             f"{harness.STRATEGY_LABELS[strategy]}", rotation, *counts])
    rows.append(["all pairs", "both", *totals])
    print("crash matrix, every engine and strategy (each point: SIGKILL, then the rotation "
          "retried as Secrets Manager does)")
    print(harness.table(["pair", "rotation", "points", "converged", "lockouts", "in window",
                         "failed"], rows))
    for line in missing:
        print(f"crash matrix: MISSING results: {line}")
    ok = not missing and not failed and totals[0] > 0
    print("crash matrix: " + ("passed" if ok else "FAILED"))
    return 0 if ok else 1


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    if argv[:1] == ["--summary"]:
        if len(argv) != 2:
            parser.error("--summary takes the folder of the results files")
        return summary(argv[1])
    parser.add_argument("--engine", choices=("mariadb", "postgres"), required=True)
    parser.add_argument("--strategy", choices=(SINGLE_USER, ALTERNATING_USERS), required=True)
    parser.add_argument("--rotation", choices=("first", "later"), required=True)
    parser.add_argument("--results", help="write the points as JSON to this file")
    parser.add_argument("--max-points", type=int, default=MAX_POINTS)
    args = parser.parse_args(argv)

    folder, kept = harness.work_dir(f"crash-{args.engine}-{args.strategy}-{args.rotation}")
    started = time.monotonic()
    try:
        matrix = CrashMatrix(args.engine, args.strategy, args.rotation, folder)
    except harness.SuiteError as exc:
        print(f"crash matrix: {exc}", file=sys.stderr)
        return 1
    try:
        points = matrix.run(args.max_points)
    finally:
        matrix.close()
        harness.remove_unless_kept(folder, kept)
    elapsed = time.monotonic() - started

    print(f"crash matrix: {title(args.engine, args.strategy, args.rotation)} "
          f"(DB_TLS_MODE=disable through a statement-counting proxy; {elapsed:.0f} s)")
    print(harness.table(HEADERS, summary_rows(points)))
    for kind, when in KINDS:
        chosen = [p for p in points if (p.kind, p.when) == (kind, when)]
        print(f"  {kind} {when}: " + " ".join(f"{p.index}:{p.step or '?'}/{p.what or '?'}"
                                               for p in chosen))
    failed = [p for p in points if p.problems]
    for point in failed:
        print(f"FAILED {point.name}:")
        for problem in point.problems:
            print(f"    {problem}")
    if args.results:
        os.makedirs(os.path.dirname(os.path.abspath(args.results)), exist_ok=True)
        with open(args.results, "w", encoding="utf-8") as f:
            json.dump({"engine": args.engine, "strategy": args.strategy,
                       "rotation": args.rotation, "seconds": round(elapsed, 1),
                       "points": [dataclasses.asdict(p) for p in points]}, f, indent=1)
    ok = bool(points) and not failed
    print("crash matrix: " + ("passed" if ok else f"{len(failed)} of {len(points)} points failed"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
