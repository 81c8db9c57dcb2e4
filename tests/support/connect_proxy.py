#!/usr/bin/env python3
"""A forward proxy on 127.0.0.1 for tests: tunnels CONNECT requests and logs each tunnel.

Usage: connect_proxy.py --port-file FILE --log FILE

Each request's first line goes to the log, one line each, as it arrives: "CONNECT host:port"
for a tunnel (answered 200, then bytes are relayed both ways until either side closes), or
e.g. "GET http://host/path" for a plain proxied request, which is refused with 502 (the
function must never send one). Tunnels go to loopback addresses only: any other target is
refused with 403, so a test can never reach past this machine.
"""
import argparse
import ipaddress
import os
import select
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOG_LOCK = threading.Lock()


def loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args) -> None:  # noqa: A002 (base-class name)
        pass

    def log_line(self, line: str) -> None:
        with LOG_LOCK, open(self.server.log_path, "a", encoding="utf-8") as log:
            log.write(line + "\n")

    def refuse(self, status: int) -> None:
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()
        self.close_connection = True

    def do_plain(self) -> None:
        self.log_line(f"{self.command} {self.path}")
        self.refuse(502)

    do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = do_plain

    def do_CONNECT(self) -> None:
        self.log_line(f"CONNECT {self.path}")
        host, _, port = self.path.rpartition(":")
        if not loopback(host) or not port.isdigit():
            self.refuse(403)
            return
        try:
            upstream = socket.create_connection((host.strip("[]"), int(port)), timeout=10)
        except OSError:
            self.refuse(502)
            return
        self.send_response(200, "Connection established")
        self.end_headers()
        self.wfile.flush()
        self.relay(self.connection, upstream)
        self.close_connection = True

    @staticmethod
    def relay(client: socket.socket, upstream: socket.socket) -> None:
        with upstream:
            sockets = [client, upstream]
            while True:
                readable, _, _ = select.select(sockets, [], [], 120)
                if not readable:
                    return
                for source in readable:
                    data = source.recv(65536)
                    if not data:
                        return
                    (upstream if source is client else client).sendall(data)


class Server(ThreadingHTTPServer):
    daemon_threads = True


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--log", required=True)
    args = parser.parse_args()
    server = Server(("127.0.0.1", 0), Handler)
    server.log_path = args.log
    open(args.log, "a", encoding="utf-8").close()
    temporary = args.port_file + ".tmp"
    with open(temporary, "w", encoding="utf-8") as f:
        f.write(str(server.server_address[1]))
    os.rename(temporary, args.port_file)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
