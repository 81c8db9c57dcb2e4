#!/usr/bin/env python3
"""Time from process start to the first Runtime API /next request (cold start).

Listens on 127.0.0.1 as a stand-in Runtime API, starts the bootstrap with
os.posix_spawn, and measures from just before the spawn until the request line
of its first GET .../invocation/next has arrived. Repeats and prints the
median, minimum and maximum in milliseconds.

Usage: bench/start_to_first_next.py [--runs 20] [--bootstrap build/bootstrap]
"""
import argparse
import os
import signal
import socket
import statistics
import sys
import time


def measure_once(bootstrap: str, env_base: dict) -> float:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    env = dict(env_base, AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{port}")
    env_list = [f"{k}={v}" for k, v in env.items()]
    start = time.perf_counter_ns()
    pid = os.posix_spawn(bootstrap, [bootstrap], dict(env))
    connection, _ = listener.accept()
    data = b""
    while b"\r\n" not in data:
        chunk = connection.recv(4096)
        if not chunk:
            break
        data += chunk
    elapsed_ms = (time.perf_counter_ns() - start) / 1e6
    del env_list
    if not data.startswith(b"GET /2018-06-01/runtime/invocation/next"):
        raise SystemExit(f"unexpected first request: {data[:80]!r}")
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    connection.close()
    listener.close()
    return elapsed_ms


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--bootstrap", default="build/bootstrap")
    args = parser.parse_args()
    env = {
        "PATH": "/usr/bin:/bin",
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "AKIDBENCH",
        "AWS_SECRET_ACCESS_KEY": "bench-secret",
        "SECRETS_MANAGER_ENDPOINT": "http://127.0.0.1:9",
    }
    measure_once(args.bootstrap, env)  # warm the page cache
    samples = [measure_once(args.bootstrap, env) for _ in range(args.runs)]
    print(f"start to first /next over {args.runs} runs: median {statistics.median(samples):.2f} ms, "
          f"min {min(samples):.2f} ms, max {max(samples):.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
