"""Tests of the adversarial suites' own tools, against fake servers and clients in this process:
the protocol parsers (wire.py), the kill proxy (crash_proxy.py), the man in the middle
(mitm_proxy.py), the password finder (leaks.py) and the leak scan (leak_scan.py).

Run: python3 -m unittest tests/adversarial/test_adversarial_tools.py (no database needed).
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import shutil
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import unittest
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import crash_proxy  # noqa: E402
import leak_scan  # noqa: E402
import leaks  # noqa: E402
import mitm_proxy  # noqa: E402
import wire  # noqa: E402

PASSWORD = "Zq8!tR#2vLp$9wXe&4mN"


def login_packet(user: str, capabilities: int, auth: bytes = b"\x11" * 20) -> bytes:
    return (struct.pack("<IIB", capabilities, 1 << 24, 45) + b"\0" * 23 + user.encode() + b"\0"
            + bytes([len(auth)]) + auth + b"mysql_native_password\0")


CLIENT_CAPS = (wire.CLIENT_PROTOCOL_41 | wire.CLIENT_SECURE_CONNECTION | wire.CLIENT_PLUGIN_AUTH
               | wire.CLIENT_DEPRECATE_EOF)


def pg_startup(user: str) -> bytes:
    body = struct.pack(">I", wire.PG_PROTOCOL_3) + b"user\0" + user.encode() + b"\0\0"
    return struct.pack(">I", len(body) + 4) + body


def pg_extended(sql: bytes) -> bytes:
    return (wire.pg_message(b"P", b"\0" + sql + b"\0\0\0") + wire.pg_message(b"B", b"\0\0" + b"\0" * 6)
            + wire.pg_message(b"E", b"\0\0\0\0\0") + wire.pg_message(b"S", b""))


class WireTest(unittest.TestCase):
    def test_mysql_statements_answers_and_login(self) -> None:
        conv = wire.MySqlConversation()
        greeting = wire.fake_greeting(wire.SERVER_CAPABILITIES | wire.CLIENT_SSL)
        self.assertEqual(conv.feed_server(wire.mysql_packet(0, greeting))[0].kind, "message")
        self.assertTrue(wire.Greeting.parse(greeting).capabilities & wire.CLIENT_SSL)
        events = conv.feed_client(wire.mysql_packet(1, login_packet("app", CLIENT_CAPS)))
        self.assertEqual((events[0].kind, events[0].username, events[0].auth), ("login", "app", 20))
        conv.feed_server(wire.mysql_packet(2, wire.ok_packet_payload()))
        # A statement split over two reads, then a result set: column count, one column
        # definition, a row, and (CLIENT_DEPRECATE_EOF) an OK packet with header 0xFE.
        query = wire.mysql_packet(0, b"\x03SELECT 1")
        self.assertEqual(conv.feed_client(query[:5]), [])
        events = conv.feed_client(query[5:])
        self.assertEqual((events[0].kind, events[0].sql, events[0].statement),
                         ("statement", b"SELECT 1", 1))
        answer = [wire.mysql_packet(1, b"\x01"), wire.mysql_packet(2, b"\x03def" + b"\0" * 10),
                  wire.mysql_packet(3, b"\x011"), wire.mysql_packet(4, b"\xfe\x00\x00\x02\x00")]
        kinds = [e.kind for chunk in answer for e in conv.feed_server(chunk)]
        self.assertEqual(kinds, ["message", "message", "message", "answered"])
        conv.feed_client(wire.mysql_packet(0, b"\x03SET x = 1"))
        self.assertEqual(conv.feed_server(wire.mysql_packet(1, wire.ok_packet_payload()))[0].kind,
                         "answered")

    def test_mysql_result_with_eof_packets(self) -> None:
        conv = wire.MySqlConversation()
        conv.feed_server(wire.mysql_packet(0, wire.fake_greeting(wire.SERVER_CAPABILITIES)))
        conv.feed_client(wire.mysql_packet(1, login_packet(
            "app", CLIENT_CAPS & ~wire.CLIENT_DEPRECATE_EOF)))
        conv.feed_client(wire.mysql_packet(0, b"\x03SHOW GRANTS"))
        packets = [b"\x01", b"\x03def", b"\xfe\0\0\x02\0", b"\x05GRANT", b"\xfe\0\0\x02\0"]
        kinds = [e.kind for i, p in enumerate(packets)
                 for e in conv.feed_server(wire.mysql_packet(i + 1, p))]
        self.assertEqual(kinds[-1], "answered")
        self.assertNotIn("answered", kinds[:-1])

    def test_mysql_ssl_request_turns_the_stream_opaque(self) -> None:
        ssl_request = wire.mysql_packet(1, login_packet("x", CLIENT_CAPS | wire.CLIENT_SSL)[:32])
        events = wire.client_events("mariadb", ssl_request + b"\x16\x03\x01" + b"\x03SELECT")
        self.assertEqual([e.kind for e in events], ["message", "tls"])
        self.assertEqual(wire.client_statements("mariadb", ssl_request + b"anything"), [])

    def test_mysql_auth_switch_answer_is_authentication(self) -> None:
        stream = (wire.mysql_packet(1, login_packet("app", CLIENT_CAPS))
                  + wire.mysql_packet(3, PASSWORD.encode() + b"\0"))
        events = wire.client_events("mariadb", stream)
        self.assertEqual([(e.kind, e.auth) for e in events],
                         [("login", 20), ("auth", len(PASSWORD) + 1)])

    def test_postgres_statements_and_ready_for_query(self) -> None:
        conv = wire.PgConversation()
        self.assertEqual(conv.feed_client(struct.pack(">II", 8, wire.PG_SSL_REQUEST))[0].detail,
                         "SSLRequest")
        conv.feed_server(b"N")
        events = conv.feed_client(pg_startup("app") + wire.pg_message(b"p", b"secret\0"))
        self.assertEqual([(e.kind, e.username, e.auth) for e in events],
                         [("login", "app", 0), ("auth", None, 7)])
        events = conv.feed_client(pg_extended(b"SELECT $1") + wire.pg_message(b"Q", b"SHOW x\0"))
        self.assertEqual([e.sql for e in events if e.kind == "statement"],
                         [b"SELECT $1", b"SHOW x"])
        ready = conv.feed_server(wire.pg_message(b"1", b"") + wire.pg_ready() + wire.pg_ready())
        self.assertEqual([(e.kind, e.statement) for e in ready],
                         [("message", 0), ("answered", 1), ("answered", 2)])

    def test_postgres_tls_after_ssl_request(self) -> None:
        stream = struct.pack(">II", 8, wire.PG_SSL_REQUEST) + b"\x16\x03\x01\x00\x05hello"
        self.assertEqual([e.kind for e in wire.client_events("postgres", stream)],
                         ["message", "tls"])

    def test_garbage_ends_lenient_parsing(self) -> None:
        events = wire.client_events("postgres", pg_startup("a") + b"Q\xff\xff\xff\xff")
        self.assertEqual(events[0].kind, "login")
        with self.assertRaises(wire.ProtocolError):
            wire.PgConversation().feed_client(struct.pack(">II", 99999, 1))


class FakeMySqlServer:
    """Greets, accepts any login, answers every COM_QUERY with OK; records the statements."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.statements: list[bytes] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._session, args=(sock,), daemon=True).start()

    def _session(self, sock: socket.socket) -> None:
            side = mitm_proxy.Side(sock, None)
            try:
                side.send_packet(0, wire.fake_greeting(wire.SERVER_CAPABILITIES))
                seq, _ = side.read_packet()
                side.send_packet(seq + 1, wire.ok_packet_payload())
                while True:
                    seq, command = side.read_packet()
                    self.statements.append(command[1:])
                    side.send_packet(1, wire.ok_packet_payload())
            except mitm_proxy.Closed:
                sock.close()

    def close(self) -> None:
        self.listener.close()


class CrashProxyTest(unittest.TestCase):
    def setUp(self) -> None:
        self.server = FakeMySqlServer()
        self.addCleanup(self.server.close)
        self.calls: list[str] = []
        self.plan = crash_proxy.KillPlan(lambda: self.calls.append("stop") or 4242,
                                         lambda pid: self.calls.append(f"kill {pid}"))
        self.proxy = crash_proxy.StatementKillProxy("mariadb", ("127.0.0.1", self.server.port),
                                                    self.plan)
        self.addCleanup(self.proxy.close)

    def client(self) -> mitm_proxy.Side:
        side = mitm_proxy.Side(socket.create_connection(("127.0.0.1", self.proxy.port)), None)
        self.addCleanup(side.sock.close)
        side.read_packet()
        side.send_packet(1, login_packet("app", CLIENT_CAPS))
        side.read_packet()
        return side

    def test_kill_before_a_statement_keeps_it_from_the_server(self) -> None:
        self.plan.arm(2, "before")
        side = self.client()
        side.send_packet(0, b"\x03SELECT 1")
        self.assertEqual(side.read_packet()[1][:1], b"\x00")
        side.send_packet(0, b"\x03SET PASSWORD = 'x'")
        with self.assertRaises(mitm_proxy.Closed):
            side.read_packet()
        status = self.plan.disarm()
        self.assertEqual((status.fired, status.statements, status.verbs), (True, 2, ["SELECT", "SET"]))
        self.assertFalse(status.password_statement_forwarded)
        self.assertEqual(self.server.statements, [b"SELECT 1"])
        self.assertEqual(self.calls, ["stop", "kill 4242"])

    def test_kill_after_the_answer_stops_first_and_relays_it(self) -> None:
        self.plan.arm(1, "after")
        side = self.client()
        side.send_packet(0, b"\x03ALTER USER u IDENTIFIED BY 'x'")
        self.assertEqual(side.read_packet()[1][:1], b"\x00")  # the answer got through
        with self.assertRaises(mitm_proxy.Closed):
            side.read_packet()  # then the proxy hung up, after the kill
        self.assertEqual(self.calls, ["stop", "kill 4242"])
        status = self.plan.disarm()
        self.assertTrue(status.fired and status.password_statement_forwarded)

    def test_statements_count_across_connections(self) -> None:
        self.plan.arm(3, "before")
        first = self.client()
        first.send_packet(0, b"\x03SELECT 1")
        first.read_packet()
        second = self.client()
        second.send_packet(0, b"\x03SELECT 2")
        second.read_packet()
        first.send_packet(0, b"\x03SELECT 3")
        with self.assertRaises(mitm_proxy.Closed):
            first.read_packet()
        self.assertEqual(self.server.statements, [b"SELECT 1", b"SELECT 2"])

    def test_tls_is_reported(self) -> None:
        self.plan.arm(None)
        side = mitm_proxy.Side(socket.create_connection(("127.0.0.1", self.proxy.port)), None)
        self.addCleanup(side.sock.close)
        side.read_packet()
        side.send_packet(1, login_packet("app", CLIENT_CAPS | wire.CLIENT_SSL)[:32])
        side.send(b"\x16\x03\x01\x00\x01\x00")
        for _ in range(200):
            if self.plan.status.errors:
                break
            threading.Event().wait(0.01)
        self.assertIn("uses TLS", " ".join(self.plan.disarm().errors))


def make_certificate(folder: str) -> tuple[str, str]:
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", "k.pem", "-out", "c.pem"], cwd=folder, check=True,
                   capture_output=True)
    return os.path.join(folder, "c.pem"), os.path.join(folder, "k.pem")


class MitmTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.folder = tempfile.mkdtemp(prefix="mitm-tools-test-")
        cls.addClassCleanup(shutil.rmtree, cls.folder, ignore_errors=True)
        cls.cert, cls.key = make_certificate(cls.folder)

    def mitm(self, engine: str, attack: str, upstream_port: int = 1) -> mitm_proxy.MitmProxy:
        proxy = mitm_proxy.MitmProxy(engine, ("127.0.0.1", upstream_port), self.cert, self.key)
        self.addCleanup(proxy.close)
        proxy.arm(attack)
        return proxy

    def connect(self, proxy: mitm_proxy.MitmProxy) -> mitm_proxy.Side:
        side = mitm_proxy.Side(socket.create_connection(("127.0.0.1", proxy.port)), None)
        self.addCleanup(side.sock.close)
        return side

    def test_strip_clears_client_ssl_and_relays(self) -> None:
        server = FakeMySqlServer()
        self.addCleanup(server.close)
        proxy = self.mitm("mariadb", "strip", server.port)
        side = self.connect(proxy)
        _, greeting = side.read_packet()
        self.assertFalse(wire.Greeting.parse(greeting).capabilities & wire.CLIENT_SSL)
        side.send_packet(1, login_packet("app", CLIENT_CAPS))
        side.read_packet()
        side.send_packet(0, b"\x03SET PASSWORD = '" + PASSWORD.encode() + b"'")
        side.read_packet()
        side.sock.close()
        self.assertTrue(proxy.wait_idle(10))
        raw = bytes(proxy.recordings[0].raw)
        self.assertEqual(wire.client_statements("mariadb", raw),
                         [b"SET PASSWORD = '" + PASSWORD.encode() + b"'"])

    def test_mysql_clear_password_inside_terminated_tls(self) -> None:
        proxy = self.mitm("mariadb", "clear-password-tls")
        side = self.connect(proxy)
        _, greeting = side.read_packet()
        self.assertTrue(wire.Greeting.parse(greeting).capabilities & wire.CLIENT_SSL)
        side.send_packet(1, login_packet("app", CLIENT_CAPS | wire.CLIENT_SSL)[:32])
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        tls = mitm_proxy.Side(context.wrap_socket(side.sock), None)
        tls.send_packet(2, login_packet("app", CLIENT_CAPS | wire.CLIENT_SSL))
        seq, switch = tls.read_packet()
        self.assertEqual((seq, switch), (3, wire.auth_switch_payload("mysql_clear_password", b"")))
        tls.send_packet(4, PASSWORD.encode() + b"\0")
        self.assertEqual(tls.read_packet()[1][:1], b"\x00")
        tls.sock.close()
        self.assertTrue(proxy.wait_idle(10))
        recording = proxy.recordings[0]
        self.assertIn(PASSWORD.encode(), bytes(recording.inner))
        self.assertNotIn(PASSWORD.encode(), bytes(recording.raw))

    def test_a_verifying_client_refuses_the_mitm_certificate(self) -> None:
        proxy = self.mitm("postgres", "tls-relay")
        side = self.connect(proxy)
        side.send(struct.pack(">II", 8, wire.PG_SSL_REQUEST))
        self.assertEqual(side.read(1), b"S")
        context = ssl.create_default_context()  # trusts the system CAs, not the MITM's
        with self.assertRaises(ssl.SSLError):
            context.wrap_socket(side.sock, server_hostname="127.0.0.1")
        self.assertTrue(proxy.wait_idle(10))
        self.assertIn("refused TLS", " ".join(proxy.recordings[0].events))

    def test_postgres_cleartext_request_after_n(self) -> None:
        proxy = self.mitm("postgres", "clear-password")
        side = self.connect(proxy)
        side.send(struct.pack(">II", 8, wire.PG_SSL_REQUEST))
        self.assertEqual(side.read(1), b"N")
        side.send(pg_startup("app"))
        self.assertEqual(side.read_typed(), wire.pg_auth_request(3))
        side.send(wire.pg_message(b"p", PASSWORD.encode() + b"\0"))
        side.read_typed()  # AuthenticationOk
        side.sock.close()
        self.assertTrue(proxy.wait_idle(10))
        finder = leaks.Finder({"pw": PASSWORD})
        self.assertEqual(len(finder.find(bytes(proxy.recordings[0].raw))), 1)

    def test_connections_before_the_first_attacked_one_are_relayed(self) -> None:
        server = FakeMySqlServer()
        self.addCleanup(server.close)
        proxy = self.mitm("mariadb", "clear-password", server.port)
        proxy.arm("clear-password", first_attacked=2)
        first = self.connect(proxy)
        first.read_packet()
        first.sock.close()
        second = self.connect(proxy)
        second.read_packet()
        second.sock.close()
        self.assertTrue(proxy.wait_idle(10))
        self.assertEqual([r.attacked for r in proxy.recordings], [False, True])


class FinderTest(unittest.TestCase):
    def test_every_form_is_found(self) -> None:
        finder = leaks.Finder({"secret": PASSWORD})
        raw = PASSWORD.encode()
        samples = [
            raw,
            PASSWORD.replace("'", "''").encode(),
            json.dumps({"p": PASSWORD}).encode(),
            json.dumps(json.dumps({"p": PASSWORD})).encode(),
            raw.hex().encode(), raw.hex().upper().encode(),
            base64.b64encode(b"xy" + raw),
            urllib.parse.quote(PASSWORD, safe="").encode(),
            raw[:16], raw[-17:],
        ]
        for sample in samples:
            hits = finder.find(b"log line: " + sample + b" end")
            self.assertEqual(len(hits), 1, sample)
            self.assertEqual(hits[0].label, "secret")

    def test_short_pieces_and_short_values(self) -> None:
        finder = leaks.Finder({"secret": PASSWORD, "tiny": "abc"})
        self.assertEqual(finder.find(PASSWORD[:15].encode()), [])
        self.assertEqual(finder.skipped, ["tiny"])
        self.assertEqual(finder.find(b"abc abc"), [])

    def test_whole_values_are_not_found_by_a_piece(self) -> None:
        finder = leaks.Finder([("v", "user_name_1234567 and more", "whole")])
        self.assertEqual(finder.find(b"Connect user_name_1234567@host"), [])
        self.assertEqual(len(finder.find(b"x user_name_1234567 and more y")), 1)

    def test_one_occurrence_is_one_hit(self) -> None:
        finder = leaks.Finder({"secret": PASSWORD})
        hits = finder.find(b"a " + PASSWORD.encode() + b" b " + PASSWORD.encode())
        self.assertEqual([h.length for h in hits], [len(PASSWORD)] * 2)


class LeakScanTest(unittest.TestCase):
    def setUp(self) -> None:
        self.root = tempfile.mkdtemp(prefix="leak-scan-test-")
        self.addCleanup(shutil.rmtree, self.root, ignore_errors=True)
        self.output = os.path.join(self.root, "output")
        self.server = os.path.join(self.root, "mariadb")
        os.makedirs(os.path.join(self.output, "secret-values"))
        os.makedirs(self.server)
        with open(os.path.join(self.output, "secret-values", "sm-1.jsonl"), "w") as f:
            f.write(json.dumps({"secretString": json.dumps({"password": PASSWORD})}) + "\n")
            f.write(json.dumps({"generated": "Generated-Passw0rd-Value"}) + "\n")
        with open(os.path.join(self.server, "server.env"), "w") as f:
            f.write("MARIADB_ADMIN_PASSWORD=admin-Password-from-env\n")
        for name in ("general.log", "error.log"):
            open(os.path.join(self.server, name), "w").close()
        with open(os.path.join(self.output, "function.log"), "w") as f:
            f.write("all fine\n")

    def scan(self) -> tuple[int, str]:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = leak_scan.main(["--output-dir", self.output,
                                   "--server", f"mariadb={self.server}"])
        return code, out.getvalue()

    def test_clean_outputs_pass(self) -> None:
        code, text = self.scan()
        self.assertEqual(code, 0, text)
        self.assertIn("0 password occurrence(s) found", text)

    def test_escaped_passwords_in_a_server_log_fail_without_being_printed(self) -> None:
        escaped = PASSWORD.replace("$", "\\$")  # a backslash before one character
        with open(os.path.join(self.server, "general.log"), "w") as f:
            f.write(f"1\tQuery\tSET PASSWORD FOR 'a'@'%' = PASSWORD('{escaped}')\n")
            f.write("2\tQuery\tCREATE USER x IDENTIFIED BY 'admin-Password-from-env'\n")
        with open(os.path.join(self.output, "function.log"), "w") as f:
            f.write(json.dumps({"message": "Generated-Passw0rd-Value"}) + "\n")
        code, text = self.scan()
        self.assertEqual(code, 1)
        self.assertIn("3 password occurrence(s) found", text)
        self.assertIn("backslash escapes are taken out", text)
        for secret in (PASSWORD, "Generated-Passw0rd-Value", "admin-Password-from-env"):
            self.assertNotIn(secret, text)
        self.assertIn("IDENTIFIED BY '<password>'", text)

    def test_a_missing_server_log_fails(self) -> None:
        os.remove(os.path.join(self.server, "general.log"))
        code, text = self.scan()
        self.assertEqual(code, 1)
        self.assertIn("general.log is missing", text)

    def test_passwords_of_odd_secret_values(self) -> None:
        self.assertEqual(leak_scan.secret_string_passwords('{"password": "p1-long-enough"}'),
                         [("p1-long-enough", "password of a stored secret")])
        self.assertEqual(leak_scan.secret_string_passwords('{"user": "u", "password": "p2-x\\"y",'),
                         [('p2-x"y', "password of a malformed secret")])
        self.assertEqual(leak_scan.secret_string_passwords("host=h password=p3-long user=u"),
                         [("p3-long", "password of a malformed secret"),
                          ("host=h password=p3-long user=u", leak_scan.WHOLE_VALUE)])
        self.assertEqual(leak_scan.secret_string_passwords("x" * 100), [])
        self.assertEqual(leak_scan.secret_string_passwords('["a", 1]'),
                         [('["a", 1]', leak_scan.WHOLE_VALUE)])

    def test_the_ctest_logs_are_searched_afterwards_with_the_admin_passwords(self) -> None:
        self.assertEqual(self.scan()[0], 0)  # journals the admin password
        ctest = os.path.join(self.root, "Testing")
        os.makedirs(ctest)
        with open(os.path.join(ctest, "LastTest.log"), "w") as f:
            f.write("output: admin-Password-from-env\n")
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = leak_scan.main(["--output-dir", self.output, "--ctest-dir", ctest,
                                   "--ctest-logs-only"])
        self.assertEqual(code, 1, out.getvalue())
        self.assertIn("1 occurrence(s) found", out.getvalue())
        self.assertNotIn("admin-Password-from-env", out.getvalue())

    def test_a_documented_exposure_is_allowed_only_in_its_log(self) -> None:
        os.makedirs(os.path.join(self.output, "documented-exposures"))
        with open(os.path.join(self.output, "documented-exposures", "ed.json"), "w") as f:
            json.dump({"value": PASSWORD, "file": "general.log", "reason": "ed25519 account"}, f)
        with open(os.path.join(self.server, "general.log"), "w") as f:
            f.write(f"1\tQuery\tSET PASSWORD FOR 'a'@'%' = PASSWORD('{PASSWORD}')\n")
        code, text = self.scan()
        self.assertEqual(code, 0, text)
        self.assertIn("1 documented exposure(s), not counted as leaks: ed25519 account "
                      "(only in general.log)", text)
        with open(os.path.join(self.output, "function.log"), "w") as f:
            f.write(f"the password is {PASSWORD}\n")
        code, text = self.scan()
        self.assertEqual(code, 1, text)
        self.assertIn("1 password occurrence(s) found", text)

    def test_the_journal_itself_is_not_scanned(self) -> None:
        code, text = self.scan()
        self.assertEqual(code, 0, text)
        self.assertNotIn("sm-1.jsonl", text)


if __name__ == "__main__":
    unittest.main()
