#include <algorithm>
#include <cctype>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include "aws/errors.h"
#include "aws/secrets_manager.h"
#include "aws/signed_call.h"
#include "base/json.h"
#include "base/json_text.h"

namespace secret_rotator::aws {
namespace {

constexpr char kService[] = "secretsmanager";
constexpr char kTargetPrefix[] = "secretsmanager.";

// Builds a request body by hand, so that a secret value is copied only into
// the body buffer (which http::Request wipes) and nowhere else.
class JsonObjectText {
 public:
  JsonObjectText() { text_.reserve(256); }
  JsonObjectText& Add(std::string_view name, std::string_view value) {
    Name(name);
    AppendJsonString(text_, value);
    return *this;
  }
  JsonObjectText& Add(std::string_view name, const Secret& value) {
    text_.reserve(text_.size() + value.size() * 2 + name.size() + 8);
    return Add(name, value.reveal());
  }
  JsonObjectText& Add(std::string_view name, bool value) {
    Name(name);
    text_ += value ? "true" : "false";
    return *this;
  }
  JsonObjectText& Add(std::string_view name, int value) {
    Name(name);
    text_ += std::to_string(value);
    return *this;
  }
  JsonObjectText& Add(std::string_view name, const std::vector<std::string>& values) {
    Name(name);
    text_ += '[';
    for (std::size_t i = 0; i < values.size(); ++i) {
      if (i > 0) text_ += ',';
      AppendJsonString(text_, values[i]);
    }
    text_ += ']';
    return *this;
  }
  JsonObjectText& AddIf(std::string_view name, const std::optional<std::string>& value) {
    return value ? Add(name, *value) : *this;
  }
  // The finished object; this builder is left empty.
  std::string Take() {
    text_ += '}';
    return std::move(text_);
  }

 private:
  void Name(std::string_view name) {
    text_ += text_.empty() ? '{' : ',';
    AppendJsonString(text_, name);
    text_ += ':';
  }
  std::string text_;
};

Status Malformed(std::string_view operation, std::string_view what) {
  return Status(StatusCode::kInternal, "InvalidResponse",
                std::string(operation) + " answered without a valid " + std::string(what));
}

Result<std::string> RequiredString(const JsonValue& object, const char* field,
                                   std::string_view operation) {
  const std::string* value = JsonStringMember(object, field);
  if (value == nullptr) return Malformed(operation, field);
  return *value;
}

// The strings of array member `field`; other items, or no such array, give none.
std::vector<std::string> StringArray(const JsonValue& object, const char* field) {
  std::vector<std::string> out;
  const JsonValue* array = JsonMember(object, field);
  if (array == nullptr || !array->is_array()) return out;
  for (const JsonValue& item : *array) {
    if (item.is_string()) out.push_back(item.get<std::string>());
  }
  return out;
}

// RotationRules for people: "every N days" or the ScheduleExpression, and
// the window (Duration) when there is one.
std::string ScheduleText(const JsonValue& rules) {
  std::string text;
  if (const std::string* expression = JsonStringMember(rules, "ScheduleExpression")) {
    text = *expression;
  } else if (const JsonValue* days = JsonMember(rules, "AutomaticallyAfterDays");
             days != nullptr && days->is_number_integer()) {
    text = "every " + std::to_string(days->get<long long>()) + " days";
  }
  if (const std::string* window = JsonStringMember(rules, "Duration")) {
    text += (text.empty() ? "" : ", ") + std::string("window ") + *window;
  }
  return text;
}

// A timestamp member (JSON 1.1 sends seconds since the epoch as a number).
std::optional<double> EpochSeconds(const JsonValue& object, const char* field) {
  const JsonValue* value = JsonMember(object, field);
  if (value == nullptr || !value->is_number()) return std::nullopt;
  return value->get<double>();
}

class SecretsManagerClient final : public SecretsManager {
 public:
  SecretsManagerClient(std::unique_ptr<http::Client> http, AwsConfig config, RetryPolicy retry)
      : caller_(std::move(http), {kService, config.region, config.endpoint},
                std::move(config.credentials), retry) {}

  Result<SecretDescription> DescribeSecret(const std::string& secret_id,
                                           Deadline deadline) override {
    Result<JsonValue> response =
        Call("DescribeSecret", JsonObjectText().Add("SecretId", secret_id).Take(), deadline);
    if (!response.ok()) return response.status();
    const JsonValue& body = *response;
    SecretDescription description;
    Result<std::string> arn = RequiredString(body, "ARN", "DescribeSecret");
    if (!arn.ok()) return arn.status();
    description.arn = *arn;
    if (const std::string* name = JsonStringMember(body, "Name")) description.name = *name;
    const JsonValue* enabled = JsonMember(body, "RotationEnabled");
    description.rotation_enabled =
        enabled != nullptr && enabled->is_boolean() && enabled->get<bool>();
    if (const std::string* function = JsonStringMember(body, "RotationLambdaARN")) {
      description.rotation_lambda_arn = *function;
    }
    if (const JsonValue* rules = JsonMember(body, "RotationRules");
        rules != nullptr && rules->is_object()) {
      description.rotation_schedule = ScheduleText(*rules);
    }
    description.last_rotated_date = EpochSeconds(body, "LastRotatedDate");
    description.last_changed_date = EpochSeconds(body, "LastChangedDate");
    const JsonValue* versions = JsonMember(body, "VersionIdsToStages");
    if (versions != nullptr && versions->is_object()) {
      for (const auto& [version_id, stages] : versions->items()) {
        description.version_stages[version_id] = StringArray(*versions, version_id.c_str());
      }
    }
    if (const JsonValue* tags = JsonMember(body, "Tags"); tags != nullptr && tags->is_array()) {
      for (const JsonValue& tag : *tags) {
        const std::string* key = JsonStringMember(tag, "Key");
        const std::string* value = JsonStringMember(tag, "Value");
        if (key != nullptr) description.tags.emplace_back(*key, value ? *value : std::string());
      }
    }
    return description;
  }

  Result<SecretValue> GetSecretValue(const GetSecretValueRequest& request,
                                     Deadline deadline) override {
    Result<JsonValue> response = Call("GetSecretValue",
                                      JsonObjectText()
                                          .Add("SecretId", request.secret_id)
                                          .AddIf("VersionId", request.version_id)
                                          .AddIf("VersionStage", request.version_stage)
                                          .Take(),
                                      deadline);
    if (!response.ok()) return response.status();
    JsonValue& body = *response;
    SecretValue value;
    for (auto [field, target] :
         {std::pair{"ARN", &value.arn}, std::pair{"VersionId", &value.version_id}}) {
      Result<std::string> text = RequiredString(body, field, "GetSecretValue");
      if (!text.ok()) return text.status();
      *target = *text;
    }
    if (const std::string* name = JsonStringMember(body, "Name")) value.name = *name;
    value.version_stages = StringArray(body, "VersionStages");
    const std::string* secret_string = JsonStringMember(body, "SecretString");
    if (secret_string == nullptr) {
      return Status(StatusCode::kFailedPrecondition, "UnsupportedSecret",
                    "version " + value.version_id + " of secret " + value.arn +
                        " holds no SecretString (binary secrets cannot be rotated)");
    }
    value.secret_string = Secret(*secret_string);
    WipeJson(body);
    return value;
  }

  Status PutSecretValue(const PutSecretValueRequest& request, Deadline deadline) override {
    return Call("PutSecretValue",
                JsonObjectText()
                    .Add("SecretId", request.secret_id)
                    .Add("ClientRequestToken", request.client_request_token)
                    .Add("SecretString", request.secret_string)
                    .Add("VersionStages", request.version_stages)
                    .AddIf("RotationToken", request.rotation_token)
                    .Take(),
                deadline)
        .status();
  }

  Status UpdateSecretVersionStage(const UpdateSecretVersionStageRequest& request,
                                  Deadline deadline) override {
    return Call("UpdateSecretVersionStage",
                JsonObjectText()
                    .Add("SecretId", request.secret_id)
                    .Add("VersionStage", request.version_stage)
                    .AddIf("MoveToVersionId", request.move_to_version_id)
                    .AddIf("RemoveFromVersionId", request.remove_from_version_id)
                    .Take(),
                deadline)
        .status();
  }

  Result<Secret> GetRandomPassword(const RandomPasswordRequest& request,
                                   Deadline deadline) override {
    JsonObjectText body;
    body.Add("PasswordLength", request.password_length);
    if (!request.exclude_characters.empty()) {
      body.Add("ExcludeCharacters", request.exclude_characters);
    }
    body.Add("ExcludeNumbers", request.exclude_numbers)
        .Add("ExcludePunctuation", request.exclude_punctuation)
        .Add("ExcludeUppercase", request.exclude_uppercase)
        .Add("ExcludeLowercase", request.exclude_lowercase)
        .Add("IncludeSpace", request.include_space)
        .Add("RequireEachIncludedType", request.require_each_included_type);
    Result<JsonValue> response = Call("GetRandomPassword", body.Take(), deadline);
    if (!response.ok()) return response.status();
    const std::string* password = JsonStringMember(*response, "RandomPassword");
    if (password == nullptr || password->empty()) {
      return Malformed("GetRandomPassword", "RandomPassword");
    }
    Secret secret(*password);
    WipeJson(*response);
    return secret;
  }

 private:
  // One operation, retried per the policy. Returns the parsed response body.
  Result<JsonValue> Call(std::string_view operation, std::string body, Deadline deadline) {
    const std::vector<http::Header> headers = {
        {"Content-Type", "application/x-amz-json-1.1"},
        {"X-Amz-Target", kTargetPrefix + std::string(operation)},
    };
    JsonValue parsed;
    const Status status = caller_.Call(
        operation, headers, std::move(body),
        [&](http::Response& response) -> Status {
          if (response.status != 200) {
            return StatusFromErrorResponse(response.status, response.FindHeader("x-amzn-ErrorType"),
                                           response.body);
          }
          Result<JsonValue> json =
              ParseJson(response.body, std::string(operation) + "'s response", "InvalidResponse");
          if (!json.ok()) {
            return Status(StatusCode::kUnavailable, "InvalidResponse", json.status().message());
          }
          if (!json->is_object()) return Malformed(operation, "JSON object");
          parsed = std::move(json).value();
          return Status::Ok();
        },
        deadline);
    if (!status.ok()) return status;
    return parsed;
  }

  SignedCaller caller_;
};

}  // namespace

bool SecretDescription::HasStage(const std::string& version_id, const std::string& stage) const {
  const auto found = version_stages.find(version_id);
  if (found == version_stages.end()) return false;
  for (const std::string& label : found->second) {
    if (label == stage) return true;
  }
  return false;
}

std::optional<std::string> SecretDescription::VersionWithStage(const std::string& stage) const {
  for (const auto& [version_id, stages] : version_stages) {
    for (const std::string& label : stages) {
      if (label == stage) return version_id;
    }
  }
  return std::nullopt;
}

std::optional<std::string> SecretDescription::Tag(std::string_view key) const {
  for (const auto& [tag_key, value] : tags) {
    if (tag_key.size() == key.size() &&
        std::equal(tag_key.begin(), tag_key.end(), key.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) ==
                 std::tolower(static_cast<unsigned char>(b));
        })) {
      return value;
    }
  }
  return std::nullopt;
}

std::unique_ptr<SecretsManager> NewSecretsManagerClient(std::unique_ptr<http::Client> http,
                                                        AwsConfig config, RetryPolicy retry) {
  return std::make_unique<SecretsManagerClient>(std::move(http), std::move(config), retry);
}

const std::vector<std::string>& SecretsManagerOperations() {
  static const std::vector<std::string> kOperations = {"DescribeSecret", "GetSecretValue",
                                                       "PutSecretValue", "UpdateSecretVersionStage",
                                                       "GetRandomPassword"};
  return kOperations;
}

}  // namespace secret_rotator::aws
