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
import socketserver
import sys
import threading

LOG_LOCK = threading.Lock()


def loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class Handler(socketserver.StreamRequestHandler):
    def log_line(self, line: str) -> None:
        with LOG_LOCK, open(self.server.log_path, "a", encoding="utf-8") as log:
            log.write(line + "\n")

    def handle(self) -> None:
        request_line = self.rfile.readline(8192).decode("latin-1").strip()
        while self.rfile.readline(8192) not in (b"\r\n", b"\n", b""):
            pass  # the request's headers
        if not request_line:
            return
        self.log_line(request_line.rsplit(" ", 1)[0])
        method, _, target = request_line.partition(" ")
        target = target.rsplit(" ", 1)[0]
        if method != "CONNECT":
            self.wfile.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
            return
        host, _, port = target.rpartition(":")
        if not loopback(host) or not port.isdigit():
            self.wfile.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
            return
        try:
            upstream = socket.create_connection((host.strip("[]"), int(port)), timeout=10)
        except OSError:
            self.wfile.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
            return
        self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        self.wfile.flush()
        self.relay(self.connection, upstream)

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


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


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
