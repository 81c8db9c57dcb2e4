#!/usr/bin/env python3
"""The local demo's logic (demo.sh builds, then runs this).

Packages a built bootstrap with a throwaway database CA, unpacks the zip and runs THAT bootstrap
under the local Lambda service with a clean environment; starts MariaDB, PostgreSQL and the local
Secrets Manager endpoint on 127.0.0.1; creates users and secrets with the real AWS CLI; rotates
one secret per engine and strategy with `aws secretsmanager rotate-secret` and shows, for each,
the logins before and after, the staging labels and how long each step took. Prints no password.

Usage: python3 local/demo.py --bootstrap build/bootstrap [--work-dir DIR] [--keep]
Exit status 0 iff every rotation and every check passed.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stack  # noqa: E402  (sibling module)

TTY = sys.stdout.isatty()
OK = "\033[32m✔\033[0m" if TTY else "✔"
FAIL = "\033[31m✘\033[0m" if TTY else "✘"


def bold(text: str) -> str:
    return f"\033[1m{text}\033[0m" if TTY else text


def short(version_id: str | None) -> str:
    """A version id as people read it: its first 8 characters."""
    return version_id[:8] if version_id else "-"


def ms(value: float) -> str:
    return f"{value:.1f} ms"


class Report:
    """Prints ✔/✘ lines and counts the failures."""

    def __init__(self) -> None:
        self.failures = 0

    def check(self, passed: bool, text: str) -> bool:
        print(f"  {OK if passed else FAIL} {text}", flush=True)
        self.failures += 0 if passed else 1
        return passed

    def info(self, text: str) -> None:
        print(f"    {text}", flush=True)


def show_rotation(report: Report, aws: stack.LocalAws, rotation: stack.Rotation,
                  first_invocation: bool, log_offset: int) -> bool:
    """The rotation's outcome and timings; False if it failed. `log_offset`: the size of the
    function's log before the rotation (its lines since then are shown on failure)."""
    steps = " · ".join(f"{step} {rotation.steps[step]:.1f}" for step in stack.ROTATION_STEPS
                       if step in rotation.steps)
    if not rotation.ok:
        report.check(False, f"rotate-secret failed after {rotation.wall_ms / 1000:.2f} s: "
                            f"{rotation.error}")
        if steps:
            report.info(f"steps that ran (ms): {steps}")
        lines = aws.function_log_lines(log_offset)
        if lines:
            report.info("the function's log during this rotation:")
            for line in lines[-8:]:
                report.info("  " + line[:300])
        return False
    report.check(True, f"rotated in {rotation.wall_ms / 1000:.2f} s, as the aws CLI saw it "
                       f"(mostly its own start-up)")
    report.info(f"steps in the function: {steps} = {ms(rotation.steps_ms)}")
    if first_invocation:
        first_next = aws.stats()["firstNextMs"]
        if first_next:
            report.info(f"(createSecret includes the cold start: bootstrap spawned, first /next "
                        f"after {ms(first_next[0])})")
    return True


def check_outcome(report: Report, aws: stack.LocalAws, case: stack.Case,
                  rotation: stack.Rotation) -> None:
    """Staging labels and logins after a successful rotation."""
    stages = aws.stages(case.arn)
    current, previous = stages.get("AWSCURRENT"), stages.get("AWSPREVIOUS")
    report.check(current == rotation.version_id and previous == case.first_version,
                 f"AWSCURRENT → {short(current)} (the new version) · "
                 f"AWSPREVIOUS → {short(previous)} (the version create-secret made)")
    new = aws.secret_value(case.arn, "AWSCURRENT")
    old = aws.secret_value(case.arn, "AWSPREVIOUS")
    new_user, old_user = new["username"], old["username"]
    if case.strategy == stack.SINGLE_USER:
        report.check(new_user == old_user and case.db.login(new_user, new["password"]),
                     f"new password (AWSCURRENT): {new_user} logs in")
        report.check(not case.db.login(old_user, old["password"]),
                     f"old password (AWSPREVIOUS): refused for {old_user}")
    else:
        report.check(new_user == f"{old_user}_clone" and case.db.login(new_user, new["password"]),
                     f"AWSCURRENT user {new_user} (created by the rotation) logs in with its "
                     f"new password")
        report.check(case.db.login(old_user, old["password"]),
                     f"AWSPREVIOUS user {old_user} still logs in (alternating users: it keeps "
                     f"working until the next rotation)")


def show_operator(report: Report, aws: stack.LocalAws, bootstrap: str, *args: str,
                  expect: int = 0) -> None:
    """Run `bootstrap ARGS` (an operator command) and show its table."""
    print(f"  $ bootstrap {' '.join(args)}", flush=True)
    result = aws.operator(bootstrap, *args)
    for line in result.stdout.rstrip("\n").splitlines():
        print(f"    {line}", flush=True)
    report.check(result.returncode == expect,
                 f"bootstrap {args[0]} exited {result.returncode}"
                 + ("" if result.returncode == expect else f": {result.stderr.strip()[-400:]}"))


def run_case(report: Report, aws: stack.LocalAws, number: int, db: stack.DbServer,
             strategy: str, bootstrap: str) -> None:
    print(bold(f"\n[{number}/{len(stack.CASES)}] {stack.case_title(db, strategy)}"), flush=True)
    try:
        # Alternating users' admin secret is shaped as RDS manages it (only a username and a
        # password, and a tag naming the instance): the function asks the local RDS endpoint
        # for the engine, host and port.
        case = stack.set_up_case(db, strategy, aws, rds_managed_admin=True)
        admin = (" (masterarn: the admin secret demo/" + db.engine + "/admin, RDS-managed: "
                 "username and password only, the tag aws:rds:primaryDBInstanceArn names the "
                 "instance demo-" + db.engine + ", which the local RDS endpoint describes)") \
            if strategy == stack.ALTERNATING_USERS else ""
        report.info(f"user {case.user} and secret {case.secret_name}{admin} created with the "
                    f"AWS CLI")
        before = aws.secret_value(case.arn)
        report.check(db.login(before["username"], before["password"]),
                     f"before: {before['username']} logs in with the secret's password")
        # What an operator runs before turning rotation on; it changes nothing.
        show_operator(report, aws, bootstrap, "check", case.secret_name)
        print(f"  $ aws secretsmanager rotate-secret --secret-id {case.secret_name} "
              f"--rotation-lambda-arn {stack.FUNCTION_ARN}", flush=True)
        first_invocation = not aws.stats()["invocations"]
        log_offset = aws.function_log_size()
        rotation = aws.rotate(case.arn)
        if show_rotation(report, aws, rotation, first_invocation, log_offset):
            check_outcome(report, aws, case, rotation)
        show_operator(report, aws, bootstrap, "status", case.secret_name)
    except stack.StackError as exc:
        report.check(False, str(exc))


def run_demo(work_dir: str, bootstrap: str) -> int:
    report = Report()
    started = time.monotonic()
    print(bold("secret-rotator demo") + f": everything on 127.0.0.1, in {work_dir}", flush=True)

    ca = stack.make_tls(os.path.join(work_dir, "tls"))
    zip_path = os.path.join(work_dir, "secret-rotator.zip")
    stack.build_package(bootstrap, zip_path, db_ca_bundle=ca)
    packaged = stack.unpack_package(zip_path, os.path.join(work_dir, "package"))
    files = stack.package_contents(zip_path)
    libraries = sum(1 for name in files if name.startswith("lib/") and ".so" in name)
    ca_note = (", db-ca-bundle.pem (this demo's throwaway CA)" if "db-ca-bundle.pem" in files
               else "")
    report.info(f"package   secret-rotator.zip, {os.path.getsize(zip_path) / 2**20:.1f} MiB: "
                f"bootstrap, {libraries} shared objects in lib/{ca_note}; unzipped and run from "
                f"{os.path.dirname(packaged)}")

    with Cleanup() as cleanup:
        dbs = stack.start_db_servers(work_dir, os.path.join(work_dir, "tls"))
        cleanup.add(*dbs.values())
        report.info("databases " + " · ".join(f"{db.label} {db.version} on port {db.port}"
                                              for db in dbs.values())
                    + ", TLS with the throwaway CA")
        aws = stack.LocalAws(os.path.join(work_dir, "aws"), packaged)
        cleanup.add(aws)
        report.info(f"AWS       local Secrets Manager {aws.secrets_manager_url} (SigV4 checked) · "
                    f"local Lambda service {aws.lambda_url}")
        report.info("          the function's environment: Lambda's variables, region, "
                    "credentials, SECRETS_MANAGER_ENDPOINT; no DB_TLS_CA_FILE, so it verifies the "
                    "databases (verify-full) against the package's CA")
        for number, (engine, strategy) in enumerate(stack.CASES, start=1):
            run_case(report, aws, number, dbs[engine], strategy, packaged)

    elapsed = time.monotonic() - started
    print()
    if report.failures:
        print(f"{FAIL} {report.failures} check(s) failed ({elapsed:.0f} s)")
        return 1
    print(f"{OK} {len(stack.CASES)} rotations, every check passed ({elapsed:.0f} s); "
          f"servers stopped")
    return 0


class Cleanup:
    """Stops what was added to it (in reverse order) when the block ends, however it ends."""

    def __init__(self) -> None:
        self.things: list[Any] = []

    def add(self, *things: Any) -> None:
        self.things.extend(things)

    def __enter__(self) -> Cleanup:
        return self

    def __exit__(self, *exc: Any) -> None:
        for thing in reversed(self.things):
            try:
                thing.stop()
            except Exception as error:  # noqa: BLE001  (keep stopping the others)
                print(f"cleanup: {error}", file=sys.stderr)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bootstrap", required=True, help="the built bootstrap to package")
    parser.add_argument("--work-dir", help="an empty folder to use (default: a new temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (logs)")
    args = parser.parse_args(argv)

    def terminate(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt  # stop, clean up and exit 130, as on Ctrl-C

    signal.signal(signal.SIGTERM, terminate)
    work_dir = os.path.abspath(args.work_dir or tempfile.mkdtemp(prefix="secret-rotator-demo."))
    try:
        return run_demo(work_dir, os.path.abspath(args.bootstrap))
    except stack.StackError as exc:
        print(f"{FAIL} {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted; cleaning up", file=sys.stderr)
        return 130
    finally:
        stack.cleanup(work_dir)
        if args.keep:
            print(f"work folder kept: {work_dir}")
        elif not args.work_dir:
            stack.remove_tree(work_dir)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
