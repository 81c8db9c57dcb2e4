#!/usr/bin/env python3
"""This tree against a baseline commit (default: main), side by side in one run; prints ratios.

Builds both as Release Lambda packages (this tree in build-release/, the baseline exported with
`git archive` into build-baseline/src and built in build-baseline/; both reused when up to date),
unzips both, and measures them interleaved, run by run, so that the machine's load falls on both
alike:

  - start to first /next: bench/start_to_first_next.py's measurement, RUNS times each, with
    the CPU time the process used until then (/proc/PID/task/*/schedstat), which unlike the wall
    time does not grow with the machine's load;
  - first invocation (cold): the local Lambda service starts a fresh function process for one
    createSecret event whose calls go to the local Secrets Manager over HTTPS (DescribeSecret and
    two GetSecretValue, the first TLS handshake included); the figure is the Lambda service's
    duration of that invocation, from just before it starts the process until the response is
    posted, and the CPU time the function process used until then; RUNS times each, the function
    process killed between runs. What the function trusts
    is what it would load for a real AWS endpoint:
      baseline:  SSL_CERT_FILE = Debian's whole CA bundle + the test CA (it loads the system store
                 for every endpoint);
      this tree: AWS_CA_BUNDLE = aws/amazon_root_cas.pem + the test CA (the 5 Amazon roots it
                 builds in for *.amazonaws.com, plus the test CA so the local endpoint verifies);
      and, for reference, this tree with SSL_CERT_FILE = the whole bundle + the test CA (what it
      loads for a custom endpoint);
  - peak RSS (VmHWM) of the function process after whole rotations over TLS (HTTPS Secrets
    Manager, MariaDB single user with DB_TLS_MODE=verify-full): 1 + ROTATIONS rotations each;
  - the zip sizes.

Usage: python3 bench/compare_main.py [--baseline main] [--runs 20] [--rotations 5] [--no-build]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from typing import Any

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(BENCH_DIR)
sys.path.insert(0, os.path.join(REPO_ROOT, "local"))
import stack  # noqa: E402  (local/stack.py)

SYSTEM_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
PENDING_TOKEN = "bench0000-1111-2222-3333-444444444444"
GOALS = {"start": 1.2, "first_invocation": 0.5}  # ratios to the baseline, at most
ZIP_GOAL_MIB = 3.5
RSS_GOAL_MIB = 10.0


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def run_checked(argv: list[str], **kwargs: Any) -> str:
    result = subprocess.run(argv, capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        raise stack.StackError(f"{' '.join(argv)} failed:\n{result.stdout[-3000:]}"
                               f"{result.stderr[-3000:]}")
    return result.stdout


def build(source: str, build_dir: str) -> None:
    """A Release build of `source`'s package target in `build_dir`."""
    launcher = ["-DCMAKE_CXX_COMPILER_LAUNCHER=ccache", "-DCMAKE_C_COMPILER_LAUNCHER=ccache"] \
        if subprocess.run(["sh", "-c", "command -v ccache"], capture_output=True).returncode == 0 \
        else []
    run_checked(["cmake", "-S", source, "-B", build_dir, "-DCMAKE_BUILD_TYPE=Release",
                 "-DSECRET_ROTATOR_TESTS=OFF", *launcher])
    run_checked(["cmake", "--build", build_dir, "--target", "package", f"-j{os.cpu_count()}"])


def export_baseline(ref: str, source: str) -> str:
    """Export commit `ref` into `source` (again only when it changed); return the commit id."""
    commit = run_checked(["git", "-C", REPO_ROOT, "rev-parse", f"{ref}^{{commit}}"]).strip()
    stamp = os.path.join(source, ".exported-commit")
    if os.path.exists(stamp) and open(stamp, encoding="utf-8").read().strip() == commit:
        return commit
    stack.remove_tree(source)
    os.makedirs(source)
    archive = subprocess.Popen(["git", "-C", REPO_ROOT, "archive", commit],
                               stdout=subprocess.PIPE)
    run_checked(["tar", "-x", "-C", source], stdin=archive.stdout)
    archive.wait()
    with open(stamp, "w", encoding="utf-8") as f:
        f.write(commit + "\n")
    return commit


def cpu_ms(pid: int) -> float:
    """CPU time the process `pid` has used so far, all its threads, in ms (from
    /proc/PID/task/*/schedstat, in nanoseconds: unlike wall time, it does not grow with the
    machine's load)."""
    total = 0
    task_dir = f"/proc/{pid}/task"
    for task in os.listdir(task_dir):
        try:
            with open(os.path.join(task_dir, task, "schedstat"), encoding="utf-8") as f:
                total += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            pass  # a thread that ended meanwhile
    return total / 1e6


def measure_start(bootstrap: str, env_base: dict[str, str]) -> tuple[float, float]:
    """As start_to_first_next.measure_once, plus the process's CPU time at that moment:
    (wall ms, CPU ms) from spawn to the request line of its first /next."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    env = dict(env_base, AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{listener.getsockname()[1]}")
    start = time.perf_counter_ns()
    pid = os.posix_spawn(bootstrap, [bootstrap], env)
    connection, _ = listener.accept()
    data = b""
    while b"\r\n" not in data:
        chunk = connection.recv(4096)
        if not chunk:
            break
        data += chunk
    wall = (time.perf_counter_ns() - start) / 1e6
    cpu = cpu_ms(pid)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    connection.close()
    listener.close()
    if not data.startswith(b"GET /2018-06-01/runtime/invocation/next"):
        raise stack.StackError(f"unexpected first request: {data[:80]!r}")
    return wall, cpu


def concatenate(output: str, *files: str) -> str:
    with open(output, "w", encoding="utf-8") as out:
        for path in files:
            with open(path, encoding="utf-8") as f:
                out.write(f.read().rstrip("\n") + "\n")
    return output


class ColdInvoker:
    """A local stack whose function process is started anew for each measured invocation."""

    def __init__(self, work_dir: str, bootstrap: str, tls_dir: str, trust: dict[str, str]):
        self.aws = stack.LocalAws(work_dir, bootstrap, function_env=trust, tls_dir=tls_dir)
        arn, _ = self.aws.create_secret("bench/first-invocation", {
            "engine": "mariadb", "host": "127.0.0.1", "port": 3306, "username": "app",
            "password": stack.new_password()})
        self.aws.cli("secretsmanager", "rotate-secret", "--secret-id", arn,
                     "--rotation-lambda-arn", stack.FUNCTION_ARN, "--no-rotate-immediately")
        self.aws.cli.with_value_file({"engine": "mariadb", "host": "127.0.0.1", "port": 3306,
                                      "username": "app", "password": stack.new_password()},
                                     "secretsmanager", "put-secret-value", "--secret-id", arn,
                                     "--client-request-token", PENDING_TOKEN,
                                     "--version-stages", "AWSPENDING")
        self.event = json.dumps({"SecretId": arn, "ClientRequestToken": PENDING_TOKEN,
                                 "Step": "createSecret"}).encode()

    def invoke(self) -> dict[str, Any]:
        request = urllib.request.Request(
            self.aws.lambda_url + "/2015-03-31/functions/rotator/invocations", data=self.event,
            method="POST")
        with urllib.request.urlopen(request, timeout=60) as response:
            body = json.loads(response.read())
            if response.headers.get("X-Amz-Function-Error"):
                raise stack.StackError(f"the function failed: {body}\n"
                                       f"{stack.tail(self.aws.function_log)}")
            return body

    def measure(self) -> tuple[float, float]:
        """One cold invocation: process start until its response was posted, in ms (the Lambda
        service's duration of an invocation that had to start the function process), and the
        CPU time the function process used for it (it then waits in /next)."""
        pid = self.aws.stats().get("childPid")
        if pid:
            os.kill(pid, signal.SIGKILL)
            for _ in range(500):  # until the Lambda service has seen it die (5 s at most)
                if self.aws.stats().get("childPid") is None:
                    break
                time.sleep(0.01)
        starts = self.aws.stats()["starts"]
        self.invoke()
        stats = self.aws.stats()
        if stats["starts"] != starts + 1:
            raise stack.StackError("the measured invocation did not start the function process")
        return stats["invocations"][-1]["durationMs"], cpu_ms(stats["childPid"])

    def stop(self) -> None:
        self.aws.stop()


def peak_rss_mib(work_dir: str, bootstrap: str, tls_dir: str, trust: dict[str, str],
                 db: stack.DbServer, rotations: int) -> float:
    """VmHWM of the function process after 1 + `rotations` whole TLS rotations, in MiB."""
    db.admin_sql("DROP USER IF EXISTS 'app_single'@'%';")  # set_up_case creates it anew
    aws = stack.LocalAws(work_dir, bootstrap, tls_dir=tls_dir,
                         function_env={"DB_TLS_MODE": "verify-full", **trust})
    try:
        case = stack.set_up_case(db, stack.SINGLE_USER, aws, prefix="rss")
        for _ in range(1 + rotations):
            rotation = aws.rotate(case.arn, via_cli=False)
            if not rotation.ok:
                raise stack.StackError(f"rotation failed: {rotation.error}\n"
                                       f"{stack.tail(aws.function_log)}")
        return aws.function_memory_kib()["VmHWM"] / 1024
    finally:
        aws.stop()


def summary(samples: list[float]) -> str:
    return f"{statistics.median(samples):.2f} ({min(samples):.2f}–{max(samples):.2f})"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", default="main", help="the git commit to compare with")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--rotations", type=int, default=5)
    parser.add_argument("--no-build", action="store_true",
                        help="use build-release/ and build-baseline/ as they are")
    args = parser.parse_args(argv)

    def terminate(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, terminate)
    current_build = os.path.join(REPO_ROOT, "build-release")
    baseline_build = os.path.join(REPO_ROOT, "build-baseline")
    work_dir = tempfile.mkdtemp(prefix="secret-rotator-compare.")
    invokers: list[ColdInvoker] = []
    dbs: dict[str, stack.DbServer] = {}
    try:
        baseline_source = os.path.join(baseline_build, "src")
        commit = export_baseline(args.baseline, baseline_source)
        if not args.no_build:
            log(f"building the baseline {args.baseline} ({commit[:7]}) in {baseline_build}")
            build(baseline_source, os.path.join(baseline_build, "build"))
            log(f"building this tree in {current_build}")
            build(REPO_ROOT, current_build)
        zips = {"baseline": os.path.join(baseline_build, "build", "secret-rotator.zip"),
                "current": os.path.join(current_build, "secret-rotator.zip")}
        tls_dir = os.path.join(work_dir, "tls")
        ca = stack.make_tls(tls_dir)
        bootstraps = {}
        for name, zip_path in zips.items():
            packaged = os.path.join(work_dir, f"{name}.zip")
            stack.build_package(os.path.join(os.path.dirname(zip_path), "bootstrap"), packaged,
                                db_ca_bundle=ca)
            bootstraps[name] = stack.unpack_package(packaged, os.path.join(work_dir, name))
        whole_bundle = concatenate(os.path.join(work_dir, "system+test.pem"), SYSTEM_BUNDLE, ca)
        aws_roots = concatenate(os.path.join(work_dir, "amazon+test.pem"),
                                os.path.join(REPO_ROOT, "aws", "amazon_root_cas.pem"), ca)
        trust = {"baseline": {"SSL_CERT_FILE": whole_bundle},
                 "current": {"AWS_CA_BUNDLE": aws_roots},
                 "current, system store": {"SSL_CERT_FILE": whole_bundle}}
        load_before = " ".join(open("/proc/loadavg", encoding="utf-8").read().split()[:3])

        log(f"start to first /next: {args.runs} runs each, interleaved")
        env = {"PATH": "/usr/bin:/bin", "AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "AKID",
               "AWS_SECRET_ACCESS_KEY": "bench", "SECRETS_MANAGER_ENDPOINT": "http://127.0.0.1:9"}
        starts: dict[str, list[float]] = {"baseline": [], "current": []}
        start_cpu: dict[str, list[float]] = {"baseline": [], "current": []}
        for name in starts:
            measure_start(bootstraps[name], env)  # warm the page cache
        for _ in range(args.runs):
            for name in starts:
                wall, cpu = measure_start(bootstraps[name], env)
                starts[name].append(wall)
                start_cpu[name].append(cpu)

        log(f"first invocation (cold, HTTPS): {args.runs} runs each, interleaved")
        for name, trusted in trust.items():
            binary = bootstraps["baseline" if name == "baseline" else "current"]
            invokers.append(ColdInvoker(os.path.join(work_dir, f"cold-{len(invokers)}"), binary,
                                        tls_dir, trusted))
        firsts: dict[str, list[float]] = {name: [] for name in trust}
        first_cpu: dict[str, list[float]] = {name: [] for name in trust}
        for invoker in invokers:
            invoker.measure()  # warm the page cache
        for _ in range(args.runs):
            for name, invoker in zip(trust, invokers):
                wall, cpu = invoker.measure()
                firsts[name].append(wall)
                first_cpu[name].append(cpu)
        for invoker in invokers:
            invoker.stop()
        invokers.clear()

        log("peak RSS after whole TLS rotations (MariaDB, single user, verify-full)")
        dbs = stack.start_db_servers(work_dir, tls_dir, kinds=("mariadb",))
        rss = {name: peak_rss_mib(os.path.join(work_dir, f"rss-{name}"), bootstraps[name],
                                  tls_dir, trust[name], dbs["mariadb"], args.rotations)
               for name in ("baseline", "current")}
        sizes = {name: os.path.getsize(path) for name, path in zips.items()}
        load_after = " ".join(open("/proc/loadavg", encoding="utf-8").read().split()[:3])

        def ratio(metric: dict[str, list[float]], name: str = "current") -> float:
            return statistics.median(metric[name]) / statistics.median(metric["baseline"])

        mib = 2 ** 20
        start_ratio = ratio(starts)
        first_ratio = ratio(firsts)
        rows = [
            f"| start to first `/next`, ms, median (min–max) of {args.runs} | "
            f"{summary(starts['baseline'])} | {summary(starts['current'])} | "
            f"**×{start_ratio:.2f}** | ≤ ×{GOALS['start']} | "
            f"{'met' if start_ratio <= GOALS['start'] else '**missed**'} |",
            f"| first invocation, cold, HTTPS Secrets Manager, ms, median (min–max) of "
            f"{args.runs} | {summary(firsts['baseline'])} | {summary(firsts['current'])} | "
            f"**×{first_ratio:.2f}** | ≤ ×{GOALS['first_invocation']} | "
            f"{'met' if first_ratio <= GOALS['first_invocation'] else '**missed**'} |",
            f"| the same, this tree trusting the whole system store (a custom endpoint) | "
            f"{summary(firsts['baseline'])} | {summary(firsts['current, system store'])} | "
            f"×{ratio(firsts, 'current, system store'):.2f} | | |",
            f"| CPU time of the function process, start to first `/next`, ms | "
            f"{summary(start_cpu['baseline'])} | {summary(start_cpu['current'])} | "
            f"×{ratio(start_cpu):.2f} | | |",
            f"| CPU time of the function process, cold first invocation, ms | "
            f"{summary(first_cpu['baseline'])} | {summary(first_cpu['current'])} | "
            f"×{ratio(first_cpu):.2f} | | |",
            f"| the same, this tree trusting the whole system store | "
            f"{summary(first_cpu['baseline'])} | {summary(first_cpu['current, system store'])} | "
            f"×{ratio(first_cpu, 'current, system store'):.2f} | | |",
            f"| peak RSS after 1 + {args.rotations} whole TLS rotations, MiB | "
            f"{rss['baseline']:.1f} | {rss['current']:.1f} | "
            f"×{rss['current'] / rss['baseline']:.2f} | ≤ {RSS_GOAL_MIB:g} MiB | "
            f"{'met' if rss['current'] <= RSS_GOAL_MIB else '**missed**'} |",
            f"| zip, MiB (bytes) | {sizes['baseline'] / mib:.2f} ({sizes['baseline']}) | "
            f"{sizes['current'] / mib:.2f} ({sizes['current']}) | "
            f"×{sizes['current'] / sizes['baseline']:.2f} | ≤ {ZIP_GOAL_MIB:g} MiB | "
            f"{'met' if sizes['current'] / mib <= ZIP_GOAL_MIB else '**missed**'} |",
        ]
        head = run_checked(["git", "-C", REPO_ROOT, "rev-parse", "--short", "HEAD"]).strip()
        dirty = run_checked(["git", "-C", REPO_ROOT, "status", "--porcelain", "--untracked-files=no"])
        print(f"Command: `python3 bench/compare_main.py {' '.join(argv)}`. Baseline "
              f"{args.baseline} ({commit[:7]}); this tree {head}{' (modified)' if dirty else ''}. "
              f"{os.cpu_count()} CPUs; load average {load_before} before, {load_after} after. "
              f"Release builds, the packaged bootstraps.\n")
        print("| measure | baseline | this tree | ratio | goal | |")
        print("|---|--:|--:|--:|--:|---|")
        print("\n".join(rows))
        return 0
    except (stack.StackError, OSError) as exc:
        log(f"compare_main.py: {exc}")
        return 1
    except KeyboardInterrupt:
        log("interrupted; cleaning up")
        return 130
    finally:
        for invoker in invokers:
            invoker.stop()
        for db in dbs.values():
            db.stop()
        stack.cleanup(work_dir)
        stack.remove_tree(work_dir)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
