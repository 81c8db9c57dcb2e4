#include "handler/secret_document.h"

#include <charconv>
#include <vector>

#include "base/env.h"
#include "base/json.h"
#include "base/json_edit.h"

namespace secret_rotator::handler {
namespace {

constexpr char kInvalidSecret[] = "InvalidSecret";

}  // namespace

Result<SecretDocument> SecretDocument::Parse(const Secret& secret_string, std::string what) {
  Result<JsonValue> parsed = ParseJson(secret_string.reveal(), what, kInvalidSecret);
  if (!parsed.ok()) return parsed.status();
  if (!parsed->is_object()) {
    return Status(StatusCode::kInvalidArgument, kInvalidSecret,
                  what + " must be a JSON object, not " + std::string(JsonTypeName(*parsed)));
  }
  return SecretDocument(secret_string, std::move(parsed).value(), std::move(what));
}

Status SecretDocument::Invalid(const std::string& message) const {
  return Status(StatusCode::kInvalidArgument, kInvalidSecret, what_ + ": " + message);
}

Result<std::optional<std::string>> SecretDocument::OptionalString(const char* name) const {
  const JsonValue* value = JsonMember(root_, name);
  if (value == nullptr) return std::optional<std::string>();
  if (!value->is_string()) {
    return Invalid(std::string("field '") + name + "' must be a string, not " +
                   std::string(JsonTypeName(*value)));
  }
  return std::optional<std::string>(value->get<std::string>());
}

bool SecretDocument::Has(const char* name) const { return JsonMember(root_, name) != nullptr; }

Result<strategies::DbCredentials> SecretDocument::Credentials(
    const strategies::StrategyRegistry& engines) const {
  return ReadCredentials(engines, nullptr);
}

Result<strategies::DbCredentials> SecretDocument::CredentialsAt(
    const strategies::StrategyRegistry& engines, const Endpoint& endpoint) const {
  return ReadCredentials(engines, &endpoint);
}

Result<strategies::DbCredentials> SecretDocument::ReadCredentials(
    const strategies::StrategyRegistry& engines, const Endpoint* endpoint) const {
  strategies::DbCredentials credentials;
  if (endpoint != nullptr) {
    credentials.engine = endpoint->engine;
    credentials.host = endpoint->host;
  }

  // Required non-empty strings.
  for (auto [name, target] :
       {std::pair{"engine", &credentials.engine}, std::pair{"host", &credentials.host},
        std::pair{"username", &credentials.username}}) {
    if (!target->empty()) continue;  // from `endpoint`
    Result<std::optional<std::string>> value = OptionalString(name);
    if (!value.ok()) return value.status();
    if (!value->has_value() || (*value)->empty()) {
      return Invalid(std::string("field '") + name + "' is missing or empty");
    }
    *target = **value;
  }
  const strategies::EngineEntry* engine = engines.Find(credentials.engine);
  if (engine == nullptr) {
    return Invalid("engine '" + credentials.engine +
                   "' is not supported; supported engines: " + engines.EngineNames());
  }

  const JsonValue* password = JsonMember(root_, "password");
  if (password == nullptr) return Invalid("field 'password' is missing");
  if (!password->is_string()) {
    return Invalid("field 'password' must be a string, not " +
                   std::string(JsonTypeName(*password)));
  }
  credentials.password = Secret(password->get_ref<const std::string&>());

  credentials.port = endpoint != nullptr ? endpoint->port : engine->default_port;
  if (const JsonValue* port = endpoint != nullptr ? nullptr : JsonMember(root_, "port")) {
    long long number = -1;
    if (port->is_number_integer() && port->get<long long>() <= 65535) {
      number = port->get<long long>();
    } else if (port->is_string()) {
      const std::string& text = port->get_ref<const std::string&>();
      const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), number);
      if (error != std::errc() || end != text.data() + text.size()) number = -1;
    }
    if (number < 1 || number > 65535) {
      return Invalid("field 'port' must be a number from 1 to 65535");
    }
    credentials.port = static_cast<int>(number);
  }

  Result<std::optional<std::string>> dbname = OptionalString("dbname");
  if (!dbname.ok()) return dbname.status();
  credentials.dbname = *dbname;

  if (const JsonValue* ssl = JsonMember(root_, "ssl")) {
    const std::string* text = ssl->is_string() ? &ssl->get_ref<const std::string&>() : nullptr;
    if (ssl->is_boolean()) {
      credentials.ssl = ssl->get<bool>();
    } else if (text != nullptr && EqualsIgnoreCase(*text, "true")) {
      credentials.ssl = true;
    } else if (text != nullptr && EqualsIgnoreCase(*text, "false")) {
      credentials.ssl = false;
    } else {
      return Invalid("field 'ssl' must be true, false, \"true\" or \"false\"");
    }
  }
  return credentials;
}

Result<Secret> SecretDocument::WithCredentials(const Secret& password,
                                               const std::optional<std::string>& username) const {
  std::vector<JsonStringEdit> edits{{"password", password.reveal()}};
  if (username) edits.push_back({"username", *username});
  return ReplaceJsonStrings(text_.reveal(), edits, what_, kInvalidSecret);
}

}  // namespace secret_rotator::handler
