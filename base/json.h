// JSON for the whole function: nlohmann::ordered_json (header-only, Debian's
// nlohmann-json3-dev), which keeps object members in the order they were
// read, so a rewritten secret keeps its layout.
//
// Not jsoncpp: Debian ships jsoncpp only as a shared C++ library, which would
// drag a shared libstdc++ into the Lambda package, and Debian 12's libstdc++
// needs a newer glibc than Amazon Linux 2023 has (see packaging/).
//
// Rewriting a secret goes through base/json_edit.h instead, which keeps
// every byte it does not change (nlohmann would rewrite numbers and escapes).
//
// These helpers never throw: parse errors and type mismatches are values.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

#include "base/status.h"

namespace secret_rotator {

using JsonValue = nlohmann::ordered_json;

// The deepest nesting ParseJson accepts.
inline constexpr int kMaxJsonDepth = 64;

// Parses `text` as exactly one JSON value, strictly: no comments, no text
// after the value, no key twice in one object, valid UTF-8, nesting at most
// kMaxJsonDepth deep. On failure returns an InvalidArgument status of type
// `error_type` whose message starts with `what` ("the event is not valid
// JSON (...)"); the message never quotes the input, which may be secret.
Result<JsonValue> ParseJson(std::string_view text, std::string_view what,
                            std::string_view error_type);

// Returns OK iff ParseJson would accept `text`, with ParseJson's error
// otherwise; builds nothing.
Status ValidateJson(std::string_view text, std::string_view what, std::string_view error_type);

// Compact JSON text of `value`; non-ASCII characters are written as UTF-8.
std::string WriteJson(const JsonValue& value);

// The JSON type of `value` in words ("a string", "a number", ...), for error
// messages.
std::string_view JsonTypeName(const JsonValue& value);

// The member `key` of `object`, or nullptr when `object` is not an object or
// has no such member.
const JsonValue* JsonMember(const JsonValue& object, std::string_view key);

// The member `key` of `object` if it is a string, else nullptr.
const std::string* JsonStringMember(const JsonValue& object, std::string_view key);

// Overwrites every string `value` holds (members' values and array items, at
// any depth) and leaves `value` null. For values that held a secret.
void WipeJson(JsonValue& value) noexcept;

}  // namespace secret_rotator
