// The rotation event Secrets Manager sends, parsed once at the edge into a
// typed value.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"

namespace secret_rotator::handler {

enum class Step { kCreateSecret, kSetSecret, kTestSecret, kFinishSecret };

// "createSecret", "setSecret", "testSecret", "finishSecret".
std::string_view StepName(Step step);

struct RotationEvent {
  std::string secret_id;
  std::string client_request_token;
  Step step = Step::kCreateSecret;
  std::optional<std::string> rotation_token;
};

// The largest event accepted, in bytes. Real events are a few hundred bytes.
inline constexpr std::size_t kMaxEventBytes = 16 * 1024;

// Parses and validates `payload`: a JSON object with string SecretId (1 to
// 2048 characters), ClientRequestToken (32 to 64 printable ASCII characters),
// Step (one of the four step names, exact case) and optional RotationToken
// (1 to 4096 printable ASCII characters). Other fields are ignored. Any
// violation is an error of type "InvalidEvent" that names the field.
Result<RotationEvent> ParseRotationEvent(std::string_view payload);

}  // namespace secret_rotator::handler
