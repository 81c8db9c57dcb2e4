// Minimal JSON text output for the layers that do not link a JSON library
// (the runtime's error bodies, log lines).
#pragma once

#include <string>
#include <string_view>

namespace secret_rotator {

// Appends `text` to `out` as a quoted JSON string. Control characters are
// escaped, valid UTF-8 passes through, invalid bytes become U+FFFD, so the
// output is always valid JSON.
void AppendJsonString(std::string& out, std::string_view text);

// `text` as a quoted JSON string.
std::string JsonString(std::string_view text);

}  // namespace secret_rotator
