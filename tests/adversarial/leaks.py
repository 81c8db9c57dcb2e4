"""Finding passwords in bytes, in any form they could take there.

A password can reach an output as itself, quoted inside SQL (quotes doubled, or backslash escapes
as mysql_real_escape_string and PostgreSQL E'' strings write them), inside JSON (escaped once or
twice, with or without \\uXXXX and \\/), URL-encoded, as hex (X'..', 0x..) or inside base64. For
every password, Finder makes each of those forms and then finds any run of at least
MIN_FRAGMENT consecutive characters of any form, so that a truncated, split or partly escaped
occurrence is found too. Values shorter than MIN_PASSWORD are not searched: they would match
ordinary text.

Finder never returns or prints a password: a Hit names the password's label (e.g. "secret
x AWSPENDING", "MariaDB admin"), the position and the length.
"""

from __future__ import annotations

import base64
import bisect
import dataclasses
import json
import re
import urllib.parse
from typing import Iterable

MIN_PASSWORD = 8
MIN_FRAGMENT = 16
GRAM = 12
STRIDE = MIN_FRAGMENT - GRAM + 1  # every run of MIN_FRAGMENT holds a gram that starts at k*STRIDE

MYSQL_ESCAPES = {"\0": "\\0", "\n": "\\n", "\r": "\\r", "\\": "\\\\", "'": "\\'", '"': '\\"',
                 "\x1a": "\\Z"}


def _mysql_escaped(text: str) -> str:
    return "".join(MYSQL_ESCAPES.get(c, c) for c in text)


def _json_inner(text: str, ascii_only: bool) -> str:
    return json.dumps(text, ensure_ascii=ascii_only)[1:-1]


def _unicode_escaped(text: str) -> str:
    """Every character that is not a letter or digit as \\uXXXX (some JSON writers do that)."""
    return "".join(c if c.isalnum() and c.isascii() else f"\\u{ord(c):04x}" for c in text)


def _base64_pieces(raw: bytes) -> set[bytes]:
    """The part of the base64 encoding that depends only on `raw`, for each of the three ways it
    can be aligned inside a longer encoded text."""
    pieces = set()
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + raw)
        first = (shift + 2) // 3 * 4
        last = (shift + len(raw)) // 3 * 4
        if last > first:
            pieces.add(encoded[first:last])
    return pieces


def forms(password: str) -> set[bytes]:
    """The byte strings `password` may appear as in a log, a dump or a protocol stream."""
    texts = {password}
    for base in (password, password.replace("'", "''"), _mysql_escaped(password),
                 password.replace("\\", "\\\\").replace("'", "\\'")):
        texts.add(base)
        for ascii_only in (True, False):
            once = _json_inner(base, ascii_only)
            texts.update({once, once.replace("/", "\\/"), _json_inner(once, ascii_only)})
    texts.add(_unicode_escaped(password))
    texts.update({urllib.parse.quote(password, safe=""), urllib.parse.quote_plus(password)})
    found = {text.encode("utf-8") for text in texts}
    raw = password.encode("utf-8")
    found.update({raw.hex().encode(), raw.hex().upper().encode()})
    found.update(_base64_pieces(raw))
    return {f for f in found if f}


@dataclasses.dataclass(frozen=True)
class Hit:
    label: str
    start: int
    length: int


class Finder:
    """Finds the passwords given as {label: password} in byte strings (see the module doc)."""

    def __init__(self, passwords: dict[str, str] | Iterable[tuple[str, ...]]):
        """{label: password}, or (label, password) or (label, password, "whole") items; a
        "whole" value is found only whole (in any form), never by a piece."""
        items = passwords.items() if isinstance(passwords, dict) else passwords
        self.labels: list[str] = []
        self.skipped: list[str] = []  # labels of values too short to search
        self._forms: list[tuple[bytes, int]] = []  # (form, label index)
        self._short: list[tuple[bytes, int]] = []  # forms searched whole
        self._grams: dict[bytes, int | list[int]] = {}  # gram -> form index << 16 | offset
        for label, password, *how in items:
            whole = how == ["whole"]
            if len(password) < MIN_PASSWORD:
                self.skipped.append(label)
                continue
            label_index = len(self.labels)
            self.labels.append(label)
            for form in forms(password):
                if len(form) < MIN_FRAGMENT or whole:
                    self._short.append((form, label_index))
                    continue
                form_index = len(self._forms)
                self._forms.append((form, label_index))
                for offset in range(len(form) - GRAM + 1):
                    key = form[offset:offset + GRAM]
                    entry = form_index << 16 | offset
                    present = self._grams.get(key)
                    if present is None:
                        self._grams[key] = entry
                    elif isinstance(present, list):
                        present.append(entry)
                    else:
                        self._grams[key] = [present, entry]

    def __len__(self) -> int:
        return len(self.labels)

    def find(self, data: bytes) -> list[Hit]:
        """Every occurrence, overlapping matches of one password merged."""
        spans: dict[int, list[tuple[int, int]]] = {}
        grams = self._grams
        end = len(data) - GRAM + 1
        for position in range(0, max(end, 0), STRIDE):
            entry = grams.get(data[position:position + GRAM])
            if entry is None:
                continue
            for packed in entry if isinstance(entry, list) else (entry,):
                form, label = self._forms[packed >> 16]
                offset = packed & 0xFFFF
                left, form_left = position, offset
                while left > 0 and form_left > 0 and data[left - 1] == form[form_left - 1]:
                    left -= 1
                    form_left -= 1
                right, form_right = position + GRAM, offset + GRAM
                while right < len(data) and form_right < len(form) and \
                        data[right] == form[form_right]:
                    right += 1
                    form_right += 1
                if right - left >= MIN_FRAGMENT:
                    spans.setdefault(label, []).append((left, right))
        for form, label in self._short:
            start = data.find(form)
            while start >= 0:
                spans.setdefault(label, []).append((start, start + len(form)))
                start = data.find(form, start + 1)
        hits = []
        for label, ranges in spans.items():
            ranges.sort()
            merged: list[list[int]] = []
            for left, right in ranges:
                if merged and left <= merged[-1][1]:
                    merged[-1][1] = max(merged[-1][1], right)
                else:
                    merged.append([left, right])
            hits.extend(Hit(self.labels[label], left, right - left) for left, right in merged)
        return sorted(hits, key=lambda hit: hit.start)


@dataclasses.dataclass(frozen=True)
class LineHit:
    """An occurrence on line `line` (from 1). `start` is its offset in the data, or None when it
    was found only once backslash escapes were taken out (its exact place is then unknown)."""

    label: str
    line: int
    start: int | None
    length: int


BACKSLASH_ESCAPE = re.compile(rb"\\(.)")


def find_lines(finder: Finder, data: bytes) -> list[LineHit]:
    """Finder.find, and then again with every backslash escape (\\x) replaced by the character
    it escapes, whatever the character: so that a password quoted with escapes no form above
    foresaw is found too. An occurrence found both ways counts once (per password and line)."""
    newlines = [m.start() for m in re.finditer(rb"\n", data)]

    def line_of(position: int, lines: list[int]) -> int:
        return bisect.bisect_left(lines, position) + 1

    hits = [LineHit(h.label, line_of(h.start, newlines), h.start, h.length)
            for h in finder.find(data)]
    if b"\\" in data:
        seen = {(h.label, h.line) for h in hits}
        plain = BACKSLASH_ESCAPE.sub(rb"\1", data)
        plain_newlines = [m.start() for m in re.finditer(rb"\n", plain)]
        for hit in finder.find(plain):
            line = line_of(hit.start, plain_newlines)
            if (hit.label, line) not in seen:
                seen.add((hit.label, line))
                hits.append(LineHit(hit.label, line, None, hit.length))
    return hits
