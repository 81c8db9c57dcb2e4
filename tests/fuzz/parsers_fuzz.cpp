// A libFuzzer target for the function's parsers of outside input: the
// rotation event, a secret's document, any JSON (which must survive a write
// and a re-read unchanged), an AWS error body, and for local use the AWS
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
    (void)document->Credentials(engines);
    (void)document->WithCredentials(Secret(std::string("new")), std::string("user")).Serialize();
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
