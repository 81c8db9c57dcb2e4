#!/usr/bin/env python3
"""Rotation benchmark through the real, packaged binary; prints a markdown table.

Builds bootstrap and the Lambda zip in a Release build folder (default build-release,
-DCMAKE_BUILD_TYPE=Release -DSECRET_ROTATOR_TESTS=OFF), packages it again with a throwaway
database CA, unzips that package and runs its bootstrap under the local Lambda service
(local/lambda_runtime_server.py, clean environment) wired to the local Secrets Manager endpoint,
with private MariaDB and PostgreSQL servers on 127.0.0.1 (TLS, DB_TLS_MODE=verify-full against the
packaged CA). Then, for each engine/strategy pair, with a fresh Lambda service and function process:

  - one first (cold) rotation: it starts the function process;
  - ROTATIONS rotations by a signed RotateSecret request: the local endpoint answers once the four
    steps have run, so the time around the call is the whole rotation as Secrets Manager sees it
    (the four invocations, the function's calls back to Secrets Manager, and the endpoint's own
    work between the steps); the steps' own durations come from the Lambda service's stats;
  - ROTATIONS rotations with `aws secretsmanager rotate-secret` (the real AWS CLI): the same plus
    the CLI's start-up;
  - the function process's peak RSS (VmHWM in /proc/<pid>/status) after all of them.
Also: the zip's size (the package target's zip, without the test CA) and the time from process
start to the first Runtime API /next (bench/start_to_first_next.py on the packaged bootstrap).
Everything it starts is stopped, and its temporary folder removed, however it ends.

Usage: python3 bench/rotation_bench.py [--build-dir build-release] [--rotations 10]
           [--starts 20] [--no-build] [--emulator /usr/bin/qemu-aarch64-static]

--emulator runs the unpacked bootstrap under that program (an arm64 build folder, cross-compiled
with cmake/aarch64-linux-gnu.cmake, under qemu-user): every figure then includes the emulator's
cost, and the peak RSS is the emulator's process.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
from typing import Any

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(BENCH_DIR)
sys.path.insert(0, os.path.join(REPO_ROOT, "local"))
import stack  # noqa: E402  (local/stack.py)

GOALS = {"start_ms": 5.0, "rss_mib": 12.0, "mariadb_single_ms": 40.0,
         "postgres_single_ms": 60.0, "zip_mib": 5.0}


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def build(build_dir: str) -> str:
    """Configure and build the Release bootstrap and its package; return the build type."""
    for argv in (["cmake", "-S", REPO_ROOT, "-B", build_dir, "-DCMAKE_BUILD_TYPE=Release",
                  "-DSECRET_ROTATOR_TESTS=OFF"],
                 ["cmake", "--build", build_dir, "--target", "package", f"-j{os.cpu_count()}"]):
        result = subprocess.run(argv, capture_output=True, text=True)
        if result.returncode != 0:
            raise stack.StackError(f"{' '.join(argv)} failed:\n{result.stdout[-3000:]}"
                                   f"{result.stderr[-3000:]}")
    return build_type(build_dir)


def build_type(build_dir: str) -> str:
    with open(os.path.join(build_dir, "CMakeCache.txt"), encoding="utf-8") as f:
        found = re.search(r"^CMAKE_BUILD_TYPE:\w+=(.*)$", f.read(), re.M)
    return found.group(1) if found and found.group(1) else "(default)"


def start_to_first_next(bootstrap: str, runs: int) -> dict[str, float]:
    """Run bench/start_to_first_next.py on `bootstrap`; {"median", "min", "max"} in ms."""
    result = subprocess.run([sys.executable, os.path.join(BENCH_DIR, "start_to_first_next.py"),
                             "--runs", str(runs), "--bootstrap", bootstrap],
                            capture_output=True, text=True, env=stack.client_env())
    found = re.search(r"median ([\d.]+) ms, min ([\d.]+) ms, max ([\d.]+) ms", result.stdout)
    if result.returncode != 0 or not found:
        raise stack.StackError(f"start_to_first_next.py failed: {result.stdout}{result.stderr}")
    return dict(zip(("median", "min", "max"), map(float, found.groups())))


def bench_case(work_dir: str, bootstrap: str, db: stack.DbServer, strategy: str,
               rotations: int) -> dict[str, Any]:
    """Rotate one engine/strategy pair: a cold rotation, then `rotations` by signed request and
    `rotations` by the AWS CLI, in a fresh local Lambda service; the figures in ms and KiB."""
    aws = stack.LocalAws(os.path.join(work_dir, f"aws-{db.engine}-{strategy}"), bootstrap,
                         function_env={"DB_TLS_MODE": "verify-full"})
    try:
        case = stack.set_up_case(db, strategy, aws, prefix="bench")
        runs: dict[str, list[stack.Rotation]] = {"cold": [], "api": [], "cli": []}
        for kind, count in (("cold", 1), ("api", rotations), ("cli", rotations)):
            for _ in range(count):
                rotation = aws.rotate(case.arn, via_cli=kind == "cli")
                if not rotation.ok:
                    raise stack.StackError(f"{case.title}: rotation failed: {rotation.error}\n"
                                           f"{stack.tail(aws.function_log)}")
                runs[kind].append(rotation)
        memory = aws.function_memory_kib()
        stats = aws.stats()
        if stats["starts"] != 1:
            raise stack.StackError(f"{case.title}: the function process started "
                                   f"{stats['starts']} times")
        current = aws.secret_value(case.arn)
        if not db.login(current["username"], current["password"]):
            raise stack.StackError(f"{case.title}: AWSCURRENT does not log in after the runs")
    finally:
        aws.stop()
    measured = runs["api"]
    return {
        "title": case.title,
        "steps": {step: stack.median(r.steps[step] for r in measured)
                  for step in stack.ROTATION_STEPS},
        "steps_sum": stack.median(r.steps_ms for r in measured),
        "round_trip": stack.median(r.wall_ms for r in measured),
        "cli": stack.median(r.wall_ms for r in runs["cli"]),
        "cold": runs["cold"][0].wall_ms,
        "first_next": stats["firstNextMs"][0],
        "peak_rss_kib": memory.get("VmHWM", 0),
    }


def machine() -> str:
    model = "unknown CPU"
    with open("/proc/cpuinfo", encoding="utf-8") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{os.cpu_count()} CPUs ({model})"


def load() -> str:
    with open("/proc/loadavg", encoding="utf-8") as f:
        return " ".join(f.read().split()[:3])


def table(results: list[dict[str, Any]], start: dict[str, float], zip_bytes: int,
          rotations: int, starts: int) -> str:
    mib = 2 ** 20
    lines = [
        f"| engine, strategy | createSecret | setSecret | testSecret | finishSecret | sum of the "
        f"4 steps | whole rotation (RotateSecret call) | `aws secretsmanager rotate-secret` | "
        f"first rotation (cold) | peak RSS |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|"]
    for r in results:
        steps = " | ".join(f"{r['steps'][step]:.1f}" for step in stack.ROTATION_STEPS)
        lines.append(f"| {r['title']} | {steps} | {r['steps_sum']:.1f} | "
                     f"**{r['round_trip']:.1f}** | {r['cli']:.0f} | {r['cold']:.1f} | "
                     f"{r['peak_rss_kib'] / 1024:.1f} MiB |")
    lines.append("")
    lines.append(f"Times in ms, medians of {rotations} rotations each (first rotation: one run, "
                 f"including the function's start).")
    by_title = {r["title"]: r for r in results}
    peak = max(r["peak_rss_kib"] for r in results) / 1024
    maria = by_title["MariaDB, single user"]["round_trip"]
    pg = by_title["PostgreSQL, single user"]["round_trip"]

    def verdict(value: float, goal: float, strict: bool = True) -> str:
        met = value < goal if strict else value <= goal
        return "met" if met else "**missed**"

    lines += [
        "",
        "| measure | figure | goal | |",
        "|---|--:|--:|---|",
        f"| start to first `/next` (median of {starts}; min–max) | {start['median']:.2f} ms "
        f"({start['min']:.2f}–{start['max']:.2f}) | < {GOALS['start_ms']:g} ms | "
        f"{verdict(start['median'], GOALS['start_ms'])} |",
        f"| peak RSS of the function process (largest of the 4 pairs) | {peak:.1f} MiB | "
        f"< {GOALS['rss_mib']:g} MiB | {verdict(peak, GOALS['rss_mib'])} |",
        f"| whole single-user MariaDB rotation, TLS | {maria:.1f} ms | "
        f"< {GOALS['mariadb_single_ms']:g} ms | {verdict(maria, GOALS['mariadb_single_ms'])} |",
        f"| whole single-user PostgreSQL rotation, TLS | {pg:.1f} ms | "
        f"< {GOALS['postgres_single_ms']:g} ms | {verdict(pg, GOALS['postgres_single_ms'])} |",
        f"| zip size | {zip_bytes / mib:.2f} MiB ({zip_bytes} bytes) | ≤ {GOALS['zip_mib']:g} MiB"
        f" | {verdict(zip_bytes / mib, GOALS['zip_mib'], strict=False)} |",
    ]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build-dir", default=os.path.join(REPO_ROOT, "build-release"))
    parser.add_argument("--rotations", type=int, default=10)
    parser.add_argument("--starts", type=int, default=20)
    parser.add_argument("--no-build", action="store_true",
                        help="use the build folder's bootstrap and zip as they are")
    parser.add_argument("--emulator", default="",
                        help="run the unpacked bootstrap under this program (qemu-aarch64-static)")
    args = parser.parse_args(argv)
    build_dir = os.path.abspath(args.build_dir)

    def terminate(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt  # stop, clean up and exit 130, as on Ctrl-C

    signal.signal(signal.SIGTERM, terminate)
    work_dir = tempfile.mkdtemp(prefix="secret-rotator-bench.")
    try:
        log(f"building in {build_dir} (Release)" if not args.no_build else "using " + build_dir)
        kind = build_type(build_dir) if args.no_build else build(build_dir)
        zip_bytes = os.path.getsize(os.path.join(build_dir, "secret-rotator.zip"))
        ca = stack.make_tls(os.path.join(work_dir, "tls"))
        zip_path = os.path.join(work_dir, "secret-rotator.zip")
        stack.build_package(os.path.join(build_dir, "bootstrap"), zip_path, db_ca_bundle=ca)
        bootstrap = stack.unpack_package(zip_path, os.path.join(work_dir, "package"))
        if args.emulator:
            # In the package folder, which the Lambda service makes LAMBDA_TASK_ROOT.
            wrapper = os.path.join(os.path.dirname(bootstrap), "bootstrap-under-emulator")
            with open(wrapper, "w", encoding="utf-8") as f:
                f.write(f"#!/bin/sh\nexec {args.emulator} {bootstrap} \"$@\"\n")
            os.chmod(wrapper, 0o755)
            bootstrap = wrapper
        load_before = load()

        log(f"start to first /next: {args.starts} runs")
        start = start_to_first_next(bootstrap, args.starts)
        log("starting MariaDB and PostgreSQL")
        dbs = stack.start_db_servers(work_dir, os.path.join(work_dir, "tls"))
        results = []
        try:
            for engine, strategy in stack.CASES:
                log(f"{engine} {strategy}: 1 + {args.rotations} + {args.rotations} rotations")
                results.append(bench_case(work_dir, bootstrap, dbs[engine], strategy,
                                          args.rotations))
        finally:
            for db in dbs.values():
                db.stop()
        command = " ".join(["python3", os.path.relpath(os.path.abspath(__file__), REPO_ROOT),
                            *argv])
        print(f"Command: `{command}`. "
              f"Machine: {machine()}; load average {load_before} before, {load()} after. "
              f"Build: {kind} ({os.path.relpath(build_dir, REPO_ROOT)}), the packaged bootstrap "
              f"run from the unzipped package. TLS: verify-full against the packaged CA.\n")
        print(table(results, start, zip_bytes, args.rotations, args.starts))
        return 0
    except (stack.StackError, OSError) as exc:
        log(f"rotation_bench.py: {exc}")
        return 1
    except KeyboardInterrupt:
        log("interrupted; cleaning up")
        return 130
    finally:
        stack.cleanup(work_dir)
        stack.remove_tree(work_dir)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
