#!/usr/bin/env python3
"""An HTTP/1.1 server on 127.0.0.1 for testing the HTTP client's edge cases: http.server reads
the requests, and the answers are written byte by byte, broken and hostile ones included.

Usage: http_test_server.py --port-file FILE [--tls-cert PEM --tls-key PEM]

Routes (GET or POST):
  /echo              200, JSON {"method","target","headers","body"}, Content-Length
  /chunked           200, body "hello, chunked world" in three chunks plus a trailer
  /close-delimited   200, no Content-Length, Connection: close, body until close
  /interim           100 Continue, then 200 "after interim"
  /slow?ms=N         waits N ms, then 200 "slow"
  /then-close        200 "closing" with keep-alive framing, then closes the socket
  /truncated         Content-Length 100, 10 bytes, close
  /garbage           a line that is not HTTP, then close
  /connections       200, the number of connections accepted so far
Hostile answers (each streams at most 64 MiB or 60 s, then closes):
  /chunk-overflow    chunked: a 1-byte chunk, then chunk size FFFFFFFFFFFFFFFF and data
  /huge-chunk        chunked: chunk size 7FFFFFFFFFFFFFFF and data
  /huge-length       Content-Length 9223372036854775807 and data
  /drip              Content-Length 100000, then one byte every 200 ms
"""
import argparse
import json
import os
import ssl
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CONNECTIONS = 0
LOCK = threading.Lock()
STREAM_LIMIT_BYTES = 64 * 1024 * 1024
STREAM_LIMIT_SECONDS = 60


def stream(out, head: bytes, block: bytes, pause: float = 0.0) -> None:
    """Write `head`, then `block` again and again until a limit or the client goes away."""
    started = time.monotonic()
    sent = 0
    try:
        out.write(head)
        while sent < STREAM_LIMIT_BYTES and time.monotonic() - started < STREAM_LIMIT_SECONDS:
            out.write(block)
            out.flush()
            sent += len(block)
            if pause:
                time.sleep(pause)
    except OSError:
        pass  # the client gave up, as it should


def response(status: str, body: bytes, headers=()) -> bytes:
    head = [f"HTTP/1.1 {status}", f"Content-Length: {len(body)}", *headers]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


class Handler(BaseHTTPRequestHandler):
    """http.server parses each request; the answers are written as raw bytes, broken ones
    included."""

    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        global CONNECTIONS
        super().setup()
        with LOCK:
            CONNECTIONS += 1

    def log_message(self, format, *args) -> None:  # noqa: A002 (base-class name)
        pass

    def do_any(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {name: value for name, value in self.headers.items()}
        if not self.respond(self.command, self.path, headers, body):
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = do_any

    def respond(self, method, target, headers, body) -> bool:
        """Writes the answer; returns False when the connection must close."""
        path, _, query = target.partition("?")
        out = self.wfile
        if path == "/echo":
            payload = json.dumps({"method": method, "target": target, "headers": headers,
                                  "body": body.decode("utf-8", "replace")}).encode()
            out.write(response("200 OK", payload, ["Content-Type: application/json"]))
        elif path == "/chunked":
            out.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                      b"6\r\nhello,\r\n8;ext=1\r\n chunked\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n")
        elif path == "/close-delimited":
            out.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end")
            return False
        elif path == "/interim":
            out.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            out.write(response("200 OK", b"after interim"))
        elif path == "/slow":
            ms = int(urllib.parse.parse_qs(query).get("ms", ["1000"])[0])
            time.sleep(ms / 1000)
            out.write(response("200 OK", b"slow"))
        elif path == "/then-close":
            out.write(response("200 OK", b"closing"))
            out.flush()
            return False
        elif path == "/truncated":
            out.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789")
            return False
        elif path == "/garbage":
            out.write(b"SSH-2.0-OpenSSH\r\n\r\n")
            return False
        elif path in ("/chunk-overflow", "/huge-chunk", "/huge-length"):
            head = {"/chunk-overflow": b"Transfer-Encoding: chunked\r\n\r\n1\r\nA\r\n"
                                       b"FFFFFFFFFFFFFFFF\r\n",
                    "/huge-chunk": b"Transfer-Encoding: chunked\r\n\r\n7FFFFFFFFFFFFFFF\r\n",
                    "/huge-length": b"Content-Length: 9223372036854775807\r\n\r\n"}[path]
            stream(out, b"HTTP/1.1 200 OK\r\n" + head, b"A" * 65536)
            return False
        elif path == "/drip":
            stream(out, b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n", b"{", 0.2)
            return False
        elif path == "/connections":
            out.write(response("200 OK", str(CONNECTIONS).encode()))
        else:
            out.write(response("404 Not Found", b"no such route"))
        out.flush()
        return True


class Server(ThreadingHTTPServer):
    daemon_threads = True


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    args = parser.parse_args()
    server = Server(("127.0.0.1", 0), Handler)
    if args.tls_cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.tls_cert, args.tls_key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    temporary = args.port_file + ".tmp"
    with open(temporary, "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(temporary, args.port_file)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
