// A database secret's JSON document, in the format AWS's own rotation
// functions use: {"engine", "host", "port", "username", "password",
// "dbname"?, "masterarn"?, "ssl"?, ...}. It holds a password, so it has no
// way to be printed; a new version's text comes out only as a Secret.
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

  // Where a secret without a host connects, as RDS says (an RDS-managed
  // master secret holds only a username and a password).
  struct Endpoint {
    std::string engine;
    std::string host;
    int port = 0;
  };
  // The credentials with engine, host and port from `endpoint` and the rest
  // (username, password, dbname, ssl) as Credentials() reads them. REQUIRES:
  // the document has no "host" field.
  Result<strategies::DbCredentials> CredentialsAt(const strategies::StrategyRegistry& engines,
                                                  const Endpoint& endpoint) const;

  // Returns true iff the document has a member named `name`.
  bool Has(const char* name) const;

  // The text of a new version of this secret: this document's own text with
  // the password replaced, and the username too when given. Every other byte
  // is kept as it was (see ReplaceJsonStrings): other fields keep their
  // values exactly, numbers their digits, strings their escapes, members
  // their order; the new values are written as escaped JSON strings. Errors:
  // InvalidSecret when the field to replace is missing or not a string, a new
  // value is not valid UTF-8, or the text is not one that ParseJson and the
  // rewriter's reader both accept; kJsonRewriteFailed when the result failed
  // its own check. No text is returned then.
  Result<Secret> WithCredentials(const Secret& password,
                                 const std::optional<std::string>& username) const;

  const std::string& what() const { return what_; }

 private:
  SecretDocument(Secret text, JsonValue root, std::string what)
      : text_(std::move(text)), root_(std::move(root)), what_(std::move(what)) {}

  Status Invalid(const std::string& message) const;
  Result<strategies::DbCredentials> ReadCredentials(const strategies::StrategyRegistry& engines,
                                                    const Endpoint* endpoint) const;

  // The text the document was read from, kept to write new versions from.
  Secret text_;
  JsonValue root_;
  std::string what_;
};

}  // namespace secret_rotator::handler
