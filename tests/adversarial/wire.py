"""MySQL/MariaDB and PostgreSQL wire protocol pieces for the adversarial suites' proxies.

Only what a proxy needs: framing, the MySQL greeting and login packets, and incremental parsers of
both directions that say where a statement starts (client side) and where the server's answer to
it ends (server side). Python standard library only.

MySQL: every packet is a 3-byte little-endian payload length and a sequence number. A client
packet with sequence number 0 is a command (the login packets have 1, 2, ...); COM_QUERY (0x03)
carries an SQL statement. PostgreSQL: the client's first messages (StartupMessage, SSLRequest,
GSSENCRequest, CancelRequest) have no type byte; after them every message is a type byte and a
4-byte big-endian length. A simple Query ('Q') or an extended Parse ('P') ... Sync ('S') is one
statement, answered up to ReadyForQuery ('Z').

Also the proxies' listener (LoopbackListener).
"""

from __future__ import annotations

import dataclasses
import os
import socket
import struct
import threading
from typing import Callable

# --------------------------------------------------------------------------- MySQL

CLIENT_CONNECT_WITH_DB = 0x8
CLIENT_PROTOCOL_41 = 0x200
CLIENT_SSL = 0x800
CLIENT_SECURE_CONNECTION = 0x8000
CLIENT_PLUGIN_AUTH = 0x80000
CLIENT_CONNECT_ATTRS = 0x100000
CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA = 0x200000
CLIENT_DEPRECATE_EOF = 0x1000000

SERVER_MORE_RESULTS_EXISTS = 0x0008

COM_QUIT = 0x01
COM_QUERY = 0x03
# Commands that carry or run SQL in ways the proxies do not follow: seeing one is an error, so
# that no statement goes uncounted.
UNSUPPORTED_STATEMENT_COMMANDS = {0x16: "COM_STMT_PREPARE", 0x17: "COM_STMT_EXECUTE",
                                  0x1F: "COM_RESET_CONNECTION", 0x11: "COM_CHANGE_USER",
                                  0x1B: "COM_SET_OPTION", 0x1C: "COM_STMT_FETCH"}
MAX_PAYLOAD = 0xFFFFFF


class ProtocolError(Exception):
    """Bytes that do not follow the protocol as the proxies understand it."""


def mysql_packet(seq: int, payload: bytes) -> bytes:
    """One MySQL packet (payload shorter than 16 MiB)."""
    if len(payload) >= MAX_PAYLOAD:
        raise ValueError("payload too long for one packet")
    return struct.pack("<I", len(payload))[:3] + bytes([seq & 0xFF]) + payload


def split_mysql_packet(buffer: bytes | bytearray) -> tuple[int, int, bytes] | None:
    """(total length, sequence number, payload) of the packet at the start of `buffer`, or None
    if it is not complete yet."""
    if len(buffer) < 4:
        return None
    length = buffer[0] | buffer[1] << 8 | buffer[2] << 16
    if len(buffer) < 4 + length:
        return None
    return 4 + length, buffer[3], bytes(buffer[4:4 + length])


def lenenc_int(data: bytes, offset: int) -> tuple[int, int]:
    """A length-encoded integer at `offset`: (value, offset after it)."""
    first = data[offset]
    if first < 0xFB:
        return first, offset + 1
    if first == 0xFC:
        return struct.unpack_from("<H", data, offset + 1)[0], offset + 3
    if first == 0xFD:
        return int.from_bytes(data[offset + 1:offset + 4], "little"), offset + 4
    if first == 0xFE:
        return struct.unpack_from("<Q", data, offset + 1)[0], offset + 9
    raise ProtocolError(f"0x{first:02x} does not start a length-encoded integer")


@dataclasses.dataclass
class Greeting:
    """The server's Handshake v10 packet, kept as bytes so that one field can be changed."""

    payload: bytes
    capabilities: int
    capability_offset: int  # of the lower two bytes
    upper_capability_offset: int
    auth_plugin: str

    @classmethod
    def parse(cls, payload: bytes) -> Greeting:
        if not payload or payload[0] != 10:
            raise ProtocolError("not a protocol 10 greeting")
        end = payload.index(b"\0", 1)
        offset = end + 1 + 4 + 8 + 1  # version, connection id, scramble part 1, filler
        lower = struct.unpack_from("<H", payload, offset)[0]
        upper_offset = offset + 2 + 1 + 2  # charset, status
        upper = struct.unpack_from("<H", payload, upper_offset)[0]
        capabilities = lower | upper << 16
        plugin = ""
        if capabilities & CLIENT_PLUGIN_AUTH:
            data_length = payload[upper_offset + 2]
            rest = upper_offset + 3 + 10 + max(13, data_length - 8)
            plugin = payload[rest:].split(b"\0", 1)[0].decode("ascii", "replace")
        return cls(payload, capabilities, offset, upper_offset, plugin)

    def with_capabilities(self, capabilities: int) -> bytes:
        """The payload with its capability flags replaced."""
        data = bytearray(self.payload)
        struct.pack_into("<H", data, self.capability_offset, capabilities & 0xFFFF)
        struct.pack_into("<H", data, self.upper_capability_offset, capabilities >> 16 & 0xFFFF)
        return bytes(data)


def fake_greeting(capabilities: int, scramble: bytes | None = None,
                  version: bytes = b"10.11.19-MariaDB") -> bytes:
    """A Handshake v10 payload such as a MariaDB server sends, announcing mysql_native_password."""
    scramble = scramble or os.urandom(20)
    return (bytes([10]) + version + b"\0" + struct.pack("<I", 4242) + scramble[:8] + b"\0"
            + struct.pack("<H", capabilities & 0xFFFF) + bytes([45]) + struct.pack("<H", 2)
            + struct.pack("<H", capabilities >> 16 & 0xFFFF) + bytes([21]) + b"\0" * 10
            + scramble[8:20] + b"\0" + b"mysql_native_password\0")


# The capabilities a MariaDB 10.11 server announces (without CLIENT_SSL).
SERVER_CAPABILITIES = (0x1 | 0x2 | 0x4 | CLIENT_CONNECT_WITH_DB | 0x10 | 0x20 | 0x40 | 0x80
                       | 0x100 | CLIENT_PROTOCOL_41 | 0x2000 | CLIENT_SECURE_CONNECTION
                       | 0x10000 | 0x20000 | 0x40000 | CLIENT_PLUGIN_AUTH | CLIENT_CONNECT_ATTRS
                       | CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA | CLIENT_DEPRECATE_EOF)


@dataclasses.dataclass
class LoginRequest:
    """The client's HandshakeResponse41 (or its 32-byte SSL request prefix)."""

    capabilities: int
    username: str | None  # None for an SSL request
    auth_length: int = 0  # of the authentication response

    @classmethod
    def parse(cls, payload: bytes) -> LoginRequest:
        if len(payload) < 32:
            raise ProtocolError("login packet shorter than 32 bytes")
        capabilities = struct.unpack_from("<I", payload, 0)[0]
        if len(payload) == 32:
            return cls(capabilities, None)
        end = payload.find(b"\0", 32)
        if end < 0:
            raise ProtocolError("login packet without a user name")
        offset = end + 1
        if offset >= len(payload):
            auth = 0
        elif capabilities & CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA:
            auth, _ = lenenc_int(payload, offset)
        elif capabilities & CLIENT_SECURE_CONNECTION:
            auth = payload[offset]
        else:
            stop = payload.find(b"\0", offset)
            auth = (stop if stop >= 0 else len(payload)) - offset
        return cls(capabilities, payload[32:end].decode("utf-8", "replace"), auth)

    @staticmethod
    def with_capabilities(payload: bytes, capabilities: int) -> bytes:
        return struct.pack("<I", capabilities) + payload[4:]


def ok_packet_payload() -> bytes:
    return b"\x00\x00\x00\x02\x00\x00\x00"


def err_packet_payload(code: int, message: str, state: str = "28000") -> bytes:
    return b"\xff" + struct.pack("<H", code) + b"#" + state.encode() + message.encode()


def auth_switch_payload(plugin: str, data: bytes) -> bytes:
    return b"\xfe" + plugin.encode() + b"\0" + data


def _status_of_ok(payload: bytes) -> int:
    """The status flags of an OK packet (header 0x00 or 0xFE)."""
    _, offset = lenenc_int(payload, 1)
    _, offset = lenenc_int(payload, offset)
    return struct.unpack_from("<H", payload, offset)[0] if len(payload) >= offset + 2 else 0


def _status_of_eof(payload: bytes) -> int:
    return struct.unpack_from("<H", payload, 3)[0] if len(payload) >= 5 else 0


@dataclasses.dataclass
class Event:
    """What a parser saw in a stream: one whole message and what it means.

    kind: "message" (nothing special), "statement" (client: a statement starts here; `sql` is its
    text), "answered" (server: the answer to statement `statement` ends here), "tls" (the stream is
    encrypted from here on; `raw` is everything left), "login" (client: a login; `username`, and
    `auth` bytes of authentication data in it), "auth" (client: more authentication data, `auth`
    bytes), "unsupported" (client: a command the proxies cannot follow; `detail` names it),
    "garbage" (bytes that do not parse, with `strict` off).
    """

    kind: str
    raw: bytes
    sql: bytes = b""
    statement: int = 0
    username: str | None = None
    detail: str = ""
    auth: int = 0  # client: bytes of authentication data (a password's hash or the password)


class _Conversation:
    """What both engines' parsers share: the buffers, the flags and the client side's error
    handling; `_parse_client` is each engine's own."""

    def __init__(self) -> None:
        self._client = bytearray()
        self._server = bytearray()
        self.encrypted = False  # the client speaks TLS from here on
        self.strict = True
        self.broken = False
        self.statements = 0

    def feed_client(self, data: bytes) -> list[Event]:
        """The client's messages that `data` completes. With `strict` False, bytes that do not
        parse end the parsing: they and everything after come back as one "garbage" event."""
        if self.broken:
            return [Event("garbage", data)] if data else []
        events: list[Event] = []
        try:
            self._parse_client(data, events)
        except (ProtocolError, ValueError, IndexError, struct.error):
            if self.strict:
                raise
            self.broken = True
            events.append(Event("garbage", bytes(self._client)))
            self._client.clear()
        return events

    def _parse_client(self, data: bytes, events: list[Event]) -> None:
        raise NotImplementedError


class MySqlConversation(_Conversation):
    """Parses both directions of one MySQL connection incrementally.

    feed_client()/feed_server() take the bytes as they arrive and return the whole packets they
    complete, as Events. Statements are numbered from 1 within the conversation; the caller keeps
    any numbering across connections.
    """

    def __init__(self) -> None:
        super().__init__()
        self.server_capabilities = 0
        self.client_capabilities = 0
        self._logged_in = False
        self._commands = False
        # The statement whose answer the server is sending, and where in it the server is:
        # "first" (the first packet), "columns" (column definitions left), "rows".
        self._answering: int | None = None
        self._phase = ""
        self._columns = 0

    @property
    def _deprecate_eof(self) -> bool:
        return bool(self.server_capabilities & self.client_capabilities & CLIENT_DEPRECATE_EOF)

    def _parse_client(self, data: bytes, events: list[Event]) -> None:
        if self.encrypted:
            if data:
                events.append(Event("tls", data))
            return
        self._client += data
        while True:
            split = split_mysql_packet(self._client)
            if split is None:
                break
            total, seq, payload = split
            raw = bytes(self._client[:total])
            del self._client[:total]
            if seq == 0 and payload:
                self._commands = True
                command = payload[0]
                if command == COM_QUERY:
                    self.statements += 1
                    self._answering, self._phase = self.statements, "first"
                    events.append(Event("statement", raw, sql=payload[1:],
                                        statement=self.statements))
                elif command in UNSUPPORTED_STATEMENT_COMMANDS:
                    events.append(Event("unsupported", raw,
                                        detail=UNSUPPORTED_STATEMENT_COMMANDS[command]))
                else:
                    events.append(Event("message", raw))
            elif seq in (1, 2) and not self._logged_in and len(payload) >= 32:
                # The login packet; 32 bytes with CLIENT_SSL is the SSL request, after which
                # the client speaks TLS. (Inside TLS the full login has sequence number 2.)
                login = LoginRequest.parse(payload)
                self.client_capabilities = login.capabilities
                if login.username is None and login.capabilities & CLIENT_SSL:
                    self.encrypted = True
                    events.append(Event("message", raw, detail="SSL request"))
                    if self._client:
                        events.append(Event("tls", bytes(self._client)))
                        self._client.clear()
                    break
                self._logged_in = True
                events.append(Event("login", raw, username=login.username,
                                    auth=login.auth_length))
            elif self._logged_in and not self._commands and payload:
                events.append(Event("auth", raw, auth=len(payload)))  # an auth switch answer
            else:
                events.append(Event("message", raw))

    def feed_server(self, data: bytes) -> list[Event]:
        if self.encrypted:
            return [Event("tls", data)] if data else []
        self._server += data
        events = []
        while True:
            split = split_mysql_packet(self._server)
            if split is None:
                break
            total, _, payload = split
            raw = bytes(self._server[:total])
            del self._server[:total]
            if not self.server_capabilities and payload[:1] == b"\x0a":
                self.server_capabilities = Greeting.parse(payload).capabilities
                events.append(Event("message", raw))
                continue
            answered = self._answer_step(payload)
            if answered is not None:
                events.append(Event("answered", raw, statement=answered))
            else:
                events.append(Event("message", raw))
        return events

    def _answer_step(self, payload: bytes) -> int | None:
        """Follow the answer to the current statement; its number when `payload` ends it."""
        if self._answering is None or not payload:
            return None
        header = payload[0]
        more = False
        if self._phase == "first":
            if header == 0x00:
                more = bool(_status_of_ok(payload) & SERVER_MORE_RESULTS_EXISTS)
            elif header == 0xFF:
                more = False
            elif header == 0xFB:
                raise ProtocolError("LOCAL INFILE request: not followed by the proxies")
            else:
                self._columns, _ = lenenc_int(payload, 0)
                self._phase = "columns"
                return None
        elif self._phase == "columns":
            if self._columns > 0:
                self._columns -= 1
                if self._columns == 0 and self._deprecate_eof:
                    self._phase = "rows"
                return None
            # The EOF packet after the column definitions (without CLIENT_DEPRECATE_EOF).
            self._phase = "rows"
            return None
        elif self._phase == "rows":
            if header == 0xFF:
                more = False
            elif header == 0xFE and len(payload) < MAX_PAYLOAD and (
                    self._deprecate_eof or len(payload) < 9):
                more = bool((_status_of_ok(payload) if self._deprecate_eof
                             else _status_of_eof(payload)) & SERVER_MORE_RESULTS_EXISTS)
            else:
                return None  # a row
        if more:
            self._phase = "first"
            return None
        number, self._answering, self._phase = self._answering, None, ""
        return number


# --------------------------------------------------------------------------- PostgreSQL

PG_SSL_REQUEST = 80877103
PG_GSSENC_REQUEST = 80877104
PG_CANCEL_REQUEST = 80877102
PG_PROTOCOL_3 = 196608


def pg_message(kind: bytes, body: bytes) -> bytes:
    return kind + struct.pack(">I", len(body) + 4) + body


def pg_startup_parameters(raw: bytes) -> dict[str, str]:
    """The parameters of a StartupMessage (with its length prefix)."""
    parts = raw[8:].split(b"\0")
    return {parts[i].decode("utf-8", "replace"): parts[i + 1].decode("utf-8", "replace")
            for i in range(0, len(parts) - 1, 2) if parts[i]}


def pg_auth_request(code: int, data: bytes = b"") -> bytes:
    return pg_message(b"R", struct.pack(">I", code) + data)


def pg_error(message: str, code: str = "28P01") -> bytes:
    body = b"SFATAL\0VFATAL\0C" + code.encode() + b"\0M" + message.encode() + b"\0\0"
    return pg_message(b"E", body)


def pg_ready() -> bytes:
    return pg_message(b"Z", b"I")


class PgConversation(_Conversation):
    """Parses both directions of one PostgreSQL connection incrementally (see MySqlConversation).

    The client's untyped first messages are told apart by their codes. After an SSLRequest or
    GSSENCRequest the server answers one byte; the client then either starts TLS (its next byte is
    0x16, a TLS handshake record, which no plaintext message starts with) or goes on in plaintext.
    """

    def __init__(self) -> None:
        super().__init__()
        self._client_started = False  # a StartupMessage has been seen
        self._server_expects_byte = False  # the server answers an SSL/GSS request next
        self._server_encrypted = False
        self._current: int | None = None  # the extended-protocol statement being sent
        self._awaiting: list[int] = []  # statements whose ReadyForQuery has not come yet

    def _parse_client(self, data: bytes, events: list[Event]) -> None:
        if self.encrypted:
            if data:
                events.append(Event("tls", data))
            return
        self._client += data
        while self._client:
            if not self._client_started:
                if self._client[0] == 0x16:
                    self.encrypted = True
                    events.append(Event("tls", bytes(self._client)))
                    self._client.clear()
                    break
                if len(self._client) < 8:
                    break
                length, code = struct.unpack_from(">II", self._client, 0)
                if length < 8 or length > 10000:
                    raise ProtocolError(f"untyped message of length {length}")
                if len(self._client) < length:
                    break
                raw = bytes(self._client[:length])
                del self._client[:length]
                if code in (PG_SSL_REQUEST, PG_GSSENC_REQUEST):
                    self._server_expects_byte = True
                    events.append(Event("message", raw, detail="SSLRequest" if code ==
                                        PG_SSL_REQUEST else "GSSENCRequest"))
                elif code == PG_PROTOCOL_3:
                    self._client_started = True
                    events.append(Event("login", raw,
                                        username=pg_startup_parameters(raw).get("user")))
                else:
                    events.append(Event("message", raw, detail=f"untyped code {code}"))
                continue
            if len(self._client) < 5:
                break
            length = struct.unpack_from(">I", self._client, 1)[0]
            if len(self._client) < 1 + length:
                break
            raw = bytes(self._client[:1 + length])
            del self._client[:1 + length]
            kind = raw[:1]
            if kind == b"Q":
                self.statements += 1
                self._awaiting.append(self.statements)
                events.append(Event("statement", raw, sql=raw[5:].rstrip(b"\0"),
                                    statement=self.statements))
            elif kind == b"P":
                self.statements += 1
                self._current = self.statements
                body = raw[5:]
                query = body[body.index(b"\0") + 1:].split(b"\0", 1)[0]
                events.append(Event("statement", raw, sql=query, statement=self.statements))
            elif kind == b"p":
                events.append(Event("auth", raw, auth=len(raw) - 5))
            elif kind == b"S" and self._current is not None:
                self._awaiting.append(self._current)
                self._current = None
                events.append(Event("message", raw))
            else:
                events.append(Event("message", raw))

    def feed_server(self, data: bytes) -> list[Event]:
        if self._server_encrypted:
            return [Event("tls", data)] if data else []
        self._server += data
        events = []
        while self._server:
            if self._server_expects_byte:
                raw = bytes(self._server[:1])
                del self._server[:1]
                self._server_expects_byte = False
                events.append(Event("message", raw, detail="SSL answer"))
                if raw in (b"S", b"G"):
                    self._server_encrypted = True
                    if self._server:
                        events.append(Event("tls", bytes(self._server)))
                        self._server.clear()
                    break
                continue
            if len(self._server) < 5:
                break
            length = struct.unpack_from(">I", self._server, 1)[0]
            if len(self._server) < 1 + length:
                break
            raw = bytes(self._server[:1 + length])
            del self._server[:1 + length]
            if raw[:1] == b"Z" and self._awaiting:
                events.append(Event("answered", raw, statement=self._awaiting.pop(0)))
            else:
                events.append(Event("message", raw))
        return events


def conversation(engine: str) -> MySqlConversation | PgConversation:
    """A new parser for `engine` ("mariadb"/"mysql" or "postgres")."""
    return PgConversation() if engine == "postgres" else MySqlConversation()


def client_events(engine: str, stream: bytes) -> list[Event]:
    """The messages of a recorded client byte stream, read until it turns into TLS (a "tls"
    event) or stops making sense (a "garbage" event).

    The stream may also be what a man in the middle decrypted from a TLS session it terminated:
    that starts with the full login packet (MySQL) or the StartupMessage (PostgreSQL).
    """
    parser = conversation(engine)
    parser.strict = False
    return parser.feed_client(stream)


def client_statements(engine: str, stream: bytes) -> list[bytes]:
    """The SQL statements in a recorded client byte stream (see client_events)."""
    return [event.sql for event in client_events(engine, stream) if event.kind == "statement"]


# --------------------------------------------------------------------------- the listener

class LoopbackListener:
    """Listens on 127.0.0.1 (an ephemeral port, `port`) and hands each accepted connection to
    `on_connection` in a thread of its own, until close()."""

    def __init__(self, on_connection: Callable[[socket.socket], None]):
        self._on_connection = on_connection
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self._closed = True
        try:
            self._listener.close()
        except OSError:
            pass

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._on_connection, args=(client,), daemon=True).start()
