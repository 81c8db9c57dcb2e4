// JSON parsing and writing over jsoncpp, with the settings this project wants
// everywhere: strict input (no comments, no trailing text, no duplicate keys)
// and compact UTF-8 output. jsoncpp exceptions do not escape these functions.
#pragma once

#include <json/value.h>

#include <string>
#include <string_view>

#include "base/status.h"

namespace secret_rotator {

// Parses `text` as exactly one JSON value. On failure returns an
// InvalidArgument status of type `error_type` whose message starts with
// `what` ("the event is not valid JSON: ..."); the message never quotes the
// input, which may be secret.
Result<Json::Value> ParseJson(std::string_view text, std::string_view what,
                              std::string_view error_type);

// Compact JSON text of `value`; non-ASCII characters are written as UTF-8.
std::string WriteJson(const Json::Value& value);

// The JSON type of `value` in words ("a string", "a number", ...), for error
// messages.
std::string_view JsonTypeName(const Json::Value& value);

}  // namespace secret_rotator
