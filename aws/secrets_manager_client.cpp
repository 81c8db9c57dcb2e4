#include <thread>
#include <utility>

#include "aws/errors.h"
#include "aws/secrets_manager.h"
#include "aws/sigv4.h"
#include "base/json.h"
#include "base/json_text.h"
#include "base/log.h"
#include "base/random.h"

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

Result<std::string> RequiredString(const Json::Value& object, const char* field,
                                   std::string_view operation) {
  const Json::Value& value = object[field];
  if (!value.isString()) return Malformed(operation, field);
  return value.asString();
}

std::vector<std::string> StringArray(const Json::Value& value) {
  std::vector<std::string> out;
  if (!value.isArray()) return out;
  for (const Json::Value& item : value) {
    if (item.isString()) out.push_back(item.asString());
  }
  return out;
}

class SecretsManagerClient final : public SecretsManager {
 public:
  SecretsManagerClient(std::unique_ptr<http::Client> http, AwsConfig config, RetryPolicy retry)
      : http_(std::move(http)), config_(std::move(config)), retry_(retry), rng_(RandomUint64()) {}

  Result<SecretDescription> DescribeSecret(const std::string& secret_id,
                                           Deadline deadline) override {
    Result<Json::Value> response =
        Call("DescribeSecret", JsonObjectText().Add("SecretId", secret_id).Take(), deadline);
    if (!response.ok()) return response.status();
    const Json::Value& body = *response;
    SecretDescription description;
    Result<std::string> arn = RequiredString(body, "ARN", "DescribeSecret");
    if (!arn.ok()) return arn.status();
    description.arn = *arn;
    if (body["Name"].isString()) description.name = body["Name"].asString();
    description.rotation_enabled =
        body["RotationEnabled"].isBool() && body["RotationEnabled"].asBool();
    const Json::Value& versions = body["VersionIdsToStages"];
    if (versions.isObject()) {
      for (const std::string& version_id : versions.getMemberNames()) {
        description.version_stages[version_id] = StringArray(versions[version_id]);
      }
    }
    return description;
  }

  Result<SecretValue> GetSecretValue(const GetSecretValueRequest& request,
                                     Deadline deadline) override {
    Result<Json::Value> response = Call("GetSecretValue",
                                        JsonObjectText()
                                            .Add("SecretId", request.secret_id)
                                            .AddIf("VersionId", request.version_id)
                                            .AddIf("VersionStage", request.version_stage)
                                            .Take(),
                                        deadline);
    if (!response.ok()) return response.status();
    Json::Value& body = *response;
    SecretValue value;
    for (auto [field, target] :
         {std::pair{"ARN", &value.arn}, std::pair{"VersionId", &value.version_id}}) {
      Result<std::string> text = RequiredString(body, field, "GetSecretValue");
      if (!text.ok()) return text.status();
      *target = *text;
    }
    if (body["Name"].isString()) value.name = body["Name"].asString();
    value.version_stages = StringArray(body["VersionStages"]);
    const Json::Value& secret_string = body["SecretString"];
    if (!secret_string.isString()) {
      return Status(StatusCode::kFailedPrecondition, "UnsupportedSecret",
                    "version " + value.version_id + " of secret " + value.arn +
                        " holds no SecretString (binary secrets cannot be rotated)");
    }
    value.secret_string = Secret(secret_string.asString());
    body = Json::Value();
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
    Result<Json::Value> response = Call("GetRandomPassword", body.Take(), deadline);
    if (!response.ok()) return response.status();
    const Json::Value& password = (*response)["RandomPassword"];
    if (!password.isString() || password.asString().empty()) {
      return Malformed("GetRandomPassword", "RandomPassword");
    }
    Secret secret(password.asString());
    *response = Json::Value();
    return secret;
  }

 private:
  // One operation, retried per the policy. Returns the parsed response body.
  Result<Json::Value> Call(std::string_view operation, std::string body, Deadline deadline) {
    http::Request request;
    request.method = "POST";
    request.url = config_.endpoint.url + (config_.endpoint.base_path == "/" ? "/" : "");
    request.body = std::move(body);
    request.connect_timeout = retry_.connect_timeout;
    const std::vector<http::Header> base_headers = {
        {"Host", config_.endpoint.host},
        {"Content-Type", "application/x-amz-json-1.1"},
        {"X-Amz-Target", kTargetPrefix + std::string(operation)},
    };

    Status last_error;
    for (int attempt = 1; attempt <= retry_.max_attempts; ++attempt) {
      if (deadline.Expired()) {
        return Status(StatusCode::kDeadlineExceeded, "Timeout",
                      std::string(operation) + ": the invocation's time ran out" +
                          (last_error.ok() ? "" : " after: " + last_error.message()));
      }
      request.timeout = deadline.RemainingAtMost(retry_.attempt_timeout);
      request.headers = base_headers;
      // Sign each attempt anew: the signature covers the time.
      const SignedRequest signature = SignRequest(
          {request.method, config_.endpoint.base_path, "", base_headers, request.body},
          config_.credentials,
          {config_.region, kService, std::chrono::system_clock::now(), true, false, false});
      request.headers.insert(request.headers.end(), signature.added_headers.begin(),
                             signature.added_headers.end());

      Result<Json::Value> result = SendOnce(operation, request);
      if (result.ok()) return result;
      last_error = result.status();
      if (!IsRetryable(last_error) || attempt == retry_.max_attempts) break;
      const std::chrono::milliseconds pause = BackoffDelay(retry_, attempt, rng_);
      if (deadline.Remaining() <= pause) break;
      Log(LogLevel::kDebug, {},
          std::string(operation) + " failed, retrying in " + std::to_string(pause.count()) +
              " ms: " + last_error.message());
      std::this_thread::sleep_for(pause);
    }
    return last_error.WithContext(operation);
  }

  Result<Json::Value> SendOnce(std::string_view operation, const http::Request& request) {
    Result<http::Response> response = http_->Send(request);
    if (!response.ok()) return response.status();
    if (response->status != 200) {
      return StatusFromErrorResponse(response->status, response->FindHeader("x-amzn-ErrorType"),
                                     response->body);
    }
    Result<Json::Value> parsed =
        ParseJson(response->body, std::string(operation) + "'s response", "InvalidResponse");
    if (!parsed.ok())
      return Status(StatusCode::kUnavailable, "InvalidResponse", parsed.status().message());
    if (!parsed->isObject()) return Malformed(operation, "JSON object");
    return parsed;
  }

  std::unique_ptr<http::Client> http_;
  AwsConfig config_;
  RetryPolicy retry_;
  std::mt19937_64 rng_;
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
