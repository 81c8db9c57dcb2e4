// A database secret's JSON document, in the format AWS's own rotation
// functions use: {"engine", "host", "port", "username", "password",
// "dbname"?, "masterarn"?, "ssl"?, ...}. It holds a password, so it has no
// way to be printed; it is turned back into text only as a Secret.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/json.h"
#include "base/secret.h"
#include "base/status.h"
#include "strategies/registry.h"
#include "strategies/strategy.h"

namespace secret_rotator::handler {

class SecretDocument {
 public:
  // Parses `secret_string`. `what` names the version in error messages, e.g.
  // "the AWSCURRENT version of secret arn:...". Errors have type
  // "InvalidSecret" and never quote the secret.
  static Result<SecretDocument> Parse(const Secret& secret_string, std::string what);

  SecretDocument(const SecretDocument&) = default;
  SecretDocument& operator=(const SecretDocument&) = default;
  SecretDocument(SecretDocument&&) = default;
  SecretDocument& operator=(SecretDocument&&) = default;
  // Wipes the strings the document holds, the password among them.
  ~SecretDocument() { WipeJson(root_); }

  // The string field `name`, or nullopt when absent. A present field of
  // another type is an InvalidSecret error.
  Result<std::optional<std::string>> OptionalString(const char* name) const;

  // The credentials the document names. `engines` supplies the default port
  // and must know the document's engine. Required: engine, host, username,
  // password (a string, possibly empty). Optional: port (a number or numeric
  // string, 1-65535), dbname (string), ssl (boolean or "true"/"false").
  Result<strategies::DbCredentials> Credentials(const strategies::StrategyRegistry& engines) const;

  // A copy with the password replaced, and the username too when given.
  // Every other field is kept as it is.
  SecretDocument WithCredentials(const Secret& password,
                                 const std::optional<std::string>& username) const;

  // The document as compact JSON text.
  Secret Serialize() const;

  const std::string& what() const { return what_; }

 private:
  SecretDocument(JsonValue root, std::string what)
      : root_(std::move(root)), what_(std::move(what)) {}

  Status Invalid(const std::string& message) const;

  JsonValue root_;
  std::string what_;
};

}  // namespace secret_rotator::handler
