#include "handler/event.h"

#include <array>

#include "base/json.h"

namespace secret_rotator::handler {
namespace {

constexpr char kInvalidEvent[] = "InvalidEvent";

constexpr std::array<std::pair<Step, std::string_view>, 4> kStepNames = {{
    {Step::kCreateSecret, "createSecret"},
    {Step::kSetSecret, "setSecret"},
    {Step::kTestSecret, "testSecret"},
    {Step::kFinishSecret, "finishSecret"},
}};

Status Invalid(std::string message) {
  return Status(StatusCode::kInvalidArgument, kInvalidEvent, std::move(message));
}

bool IsPrintableAscii(std::string_view text) {
  for (char c : text) {
    if (c < 0x21 || c > 0x7E) return false;
  }
  return true;
}

bool HasControlCharacter(std::string_view text) {
  for (char c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) return true;
  }
  return false;
}

// The string field `name`, checked for presence and type.
Result<std::string> StringField(const JsonValue& event, const char* name) {
  const JsonValue* value = JsonMember(event, name);
  if (value == nullptr) return Invalid(std::string("the event has no ") + name);
  if (!value->is_string()) {
    return Invalid(std::string(name) + " must be a string, not " +
                   std::string(JsonTypeName(*value)));
  }
  return value->get<std::string>();
}

Status CheckLength(const char* name, const std::string& value, std::size_t min, std::size_t max) {
  if (value.size() < min || value.size() > max) {
    return Invalid(std::string(name) + " must be " + std::to_string(min) + " to " +
                   std::to_string(max) + " characters long, not " + std::to_string(value.size()));
  }
  return Status::Ok();
}

}  // namespace

std::string_view StepName(Step step) {
  for (const auto& [known, name] : kStepNames) {
    if (known == step) return name;
  }
  return "unknown";
}

Result<RotationEvent> ParseRotationEvent(std::string_view payload) {
  if (payload.size() > kMaxEventBytes) {
    return Invalid("the event is " + std::to_string(payload.size()) + " bytes; at most " +
                   std::to_string(kMaxEventBytes) + " are accepted");
  }
  Result<JsonValue> parsed = ParseJson(payload, "the event", kInvalidEvent);
  if (!parsed.ok()) return parsed.status();
  const JsonValue& event = *parsed;
  if (!event.is_object()) {
    return Invalid("the event must be a JSON object, not " + std::string(JsonTypeName(event)));
  }

  RotationEvent result;
  Result<std::string> secret_id = StringField(event, "SecretId");
  if (!secret_id.ok()) return secret_id.status();
  result.secret_id = std::move(secret_id).value();
  if (Status s = CheckLength("SecretId", result.secret_id, 1, 2048); !s.ok()) return s;
  if (HasControlCharacter(result.secret_id)) {
    return Invalid("SecretId must not contain control characters");
  }

  Result<std::string> token = StringField(event, "ClientRequestToken");
  if (!token.ok()) return token.status();
  result.client_request_token = std::move(token).value();
  if (Status s = CheckLength("ClientRequestToken", result.client_request_token, 32, 64); !s.ok()) {
    return s;
  }
  if (!IsPrintableAscii(result.client_request_token)) {
    return Invalid("ClientRequestToken must be printable ASCII without spaces");
  }

  Result<std::string> step = StringField(event, "Step");
  if (!step.ok()) return step.status();
  bool known_step = false;
  for (const auto& [value, name] : kStepNames) {
    if (name == *step) {
      result.step = value;
      known_step = true;
    }
  }
  if (!known_step) {
    std::string shown = step->substr(0, 40);
    if (HasControlCharacter(shown) || !IsPrintableAscii(shown)) shown = "(unprintable)";
    return Invalid("Step must be createSecret, setSecret, testSecret or finishSecret, not '" +
                   shown + "'");
  }

  if (JsonMember(event, "RotationToken") != nullptr) {
    Result<std::string> rotation_token = StringField(event, "RotationToken");
    if (!rotation_token.ok()) return rotation_token.status();
    if (Status s = CheckLength("RotationToken", *rotation_token, 1, 4096); !s.ok()) return s;
    if (!IsPrintableAscii(*rotation_token)) {
      return Invalid("RotationToken must be printable ASCII without spaces");
    }
    result.rotation_token = std::move(rotation_token).value();
  }
  return result;
}

}  // namespace secret_rotator::handler
