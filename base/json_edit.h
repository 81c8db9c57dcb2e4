// Editing a JSON text without re-serialising it: the values to change are
// spliced into the original bytes, so that every other byte stays as it was
// (numbers keep their digits, strings their escapes, members their order, the
// text its whitespace). A JSON library that parses into values cannot
// promise that: nlohmann::json turns 123456789012345678901234567890 into
// 1.2345678901234568e+29 and rewrites "\/" as "/".
//
// RapidJSON (Debian's header-only rapidjson-dev) finds where the values are:
// its SAX reader gives each number's own text (kParseNumbersAsStringsFlag)
// and the stream's position at each event. It is used only in json_edit.cpp.
#pragma once

#include <span>
#include <string_view>

#include "base/secret.h"
#include "base/status.h"

namespace secret_rotator {

// The error type of an edit whose result failed its own check: a bug, never
// bad input. Nothing is returned then.
inline constexpr char kJsonRewriteFailed[] = "JsonRewriteFailed";

// One top-level member of a JSON object whose string value is to be replaced.
struct JsonStringEdit {
  // The member's name as it reads once unescaped ("pass\u0077ord" is
  // "password").
  std::string_view key;
  // The new value, UTF-8.
  std::string_view value;
};

// Returns `text`, which must be a JSON object, with the value of each
// top-level member named in `edits` replaced by the edit's string and every
// other byte kept. A new value is written as a JSON string with quotes,
// backslashes and control characters escaped and every non-ASCII character
// (U+2028 among them) as \uXXXX. REQUIRES: the edits name distinct members.
//
// `text` is read as strictly as ParseJson reads it (no duplicate keys, valid
// UTF-8, at most kMaxJsonDepth deep, nothing after the value). On bad input
// returns an InvalidArgument status of type `error_type` whose message starts
// with `what`: the text is not valid JSON or not an object, a named member is
// missing or not a string, a new value is not valid UTF-8. Messages never
// quote the text or a value.
//
// Before returning, the result is read again, with the same strictness, and
// must hold exactly the tokens of `text` (numbers compared by their digits,
// strings and keys by their characters, in order) except the edited values,
// which must read as the new strings. Otherwise returns an Internal status of
// type kJsonRewriteFailed and no text.
//
// Every buffer this function fills with a part of `text` or of a new value is
// wiped before it is freed, and the result is a Secret.
Result<Secret> ReplaceJsonStrings(std::string_view text, std::span<const JsonStringEdit> edits,
                                  std::string_view what, std::string_view error_type);

}  // namespace secret_rotator
