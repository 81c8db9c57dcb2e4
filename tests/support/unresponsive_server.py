#!/usr/bin/env python3
"""Peers that never answer, on loopback, for tests of the function's time bounds.

Usage: unresponsive_server.py --mode tcp --port-file FILE
       unresponsive_server.py --mode dns --address 127.X.Y.Z --port-file FILE

tcp: a listening socket whose accept queue is full and never drained, so that a new connection's
     SYN is dropped and connect() waits (a blackholed address, without leaving the loopback).
dns: a UDP socket on ADDRESS port 53 (root only) that reads queries and never replies (a
     resolver that never answers). The port file then holds 53.
Runs until killed.
"""
import argparse
import os
import socket
import sys
import time


def write_port_file(path: str, port: int) -> None:
    temporary = path + ".tmp"
    with open(temporary, "w", encoding="utf-8") as f:
        f.write(str(port))
    os.rename(temporary, path)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", choices=("tcp", "dns"), required=True)
    parser.add_argument("--address", default="127.0.0.1")
    parser.add_argument("--port-file", required=True)
    args = parser.parse_args()
    if args.mode == "tcp":
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.bind((args.address, 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        # Fill the accept queue; these connections are never accepted.
        fillers = []
        for _ in range(8):
            filler = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            filler.setblocking(False)
            try:
                filler.connect((args.address, port))
            except BlockingIOError:
                pass
            fillers.append(filler)
        time.sleep(0.5)
        write_port_file(args.port_file, port)
        while True:
            time.sleep(3600)
    resolver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    resolver.bind((args.address, 53))
    write_port_file(args.port_file, 53)
    while True:
        resolver.recvfrom(4096)  # and never answer


if __name__ == "__main__":
    sys.exit(main())
