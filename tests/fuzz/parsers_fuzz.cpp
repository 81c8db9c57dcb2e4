// A libFuzzer target for the function's parsers of outside input: the
// rotation event, a secret's document and its rewrite with a new password
// (RapidJSON's reader, base/json_edit.h), any JSON (which must survive a
// write and a re-read unchanged), an AWS error body, and for local use the AWS
// shared config files and credential_process output. It must never crash, hang
// or trip a sanitizer, whatever the bytes.
//
// Built as a fuzzer with clang (-DSECRET_ROTATOR_FUZZ=ON); the saved corpus
// in tests/fuzz/corpus is replayed as an ordinary test in every build.
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "aws/credential_process.h"
#include "aws/errors.h"
#include "aws/shared_config.h"
#include "base/json.h"
#include "base/json_edit.h"
#include "handler/event.h"
#include "handler/secret_document.h"
#include "strategies/registry.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace secret_rotator;
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  (void)handler::ParseRotationEvent(text);

  static const strategies::StrategyRegistry engines = strategies::BuiltInRegistry();
  Result<handler::SecretDocument> document =
      handler::SecretDocument::Parse(Secret(text), "the fuzzed secret");
  if (document.ok()) {
    Result<strategies::DbCredentials> credentials = document->Credentials(engines);
    // A hostile new password: a quote, a backslash, a control character,
    // U+2028 and a non-ASCII letter.
    const Secret password(std::string("n\"e\\w\x01\xe2\x80\xa8\xc3\xbc"));
    Result<Secret> rewritten = document->WithCredentials(password, std::string("user"));
    // The rewrite's own check never fails ...
    if (!rewritten.ok() && rewritten.status().Is(kJsonRewriteFailed)) std::abort();
    // ... and what it writes reads back as the same credentials with the new
    // password and username.
    if (credentials.ok() && rewritten.ok()) {
      Result<handler::SecretDocument> again =
          handler::SecretDocument::Parse(*rewritten, "the rewritten secret");
      if (!again.ok()) std::abort();
      Result<strategies::DbCredentials> reread = again->Credentials(engines);
      if (!reread.ok() || !reread->password.Equals(password) || reread->username != "user" ||
          reread->engine != credentials->engine || reread->host != credentials->host ||
          reread->port != credentials->port || reread->dbname != credentials->dbname ||
          reread->ssl != credentials->ssl) {
        std::abort();
      }
    }
  }

  Result<JsonValue> json = ParseJson(text, "the input", "Fuzz");
  if (json.ok()) {
    Result<JsonValue> again = ParseJson(WriteJson(*json), "the written input", "Fuzz");
    if (!again.ok() || *again != *json) std::abort();
  }

  (void)aws::StatusFromErrorResponse(400, nullptr, text);

  (void)aws::FindProfile(text, aws::SharedFileKind::kConfig, "default");
  (void)aws::FindProfile(text, aws::SharedFileKind::kCredentials, "default");
  (void)aws::SplitCommandLine(text);
  (void)aws::ParseCredentialProcessOutput(text, "fuzz", std::chrono::system_clock::now());
  (void)aws::ParseRfc3339(text);
  return 0;
}
