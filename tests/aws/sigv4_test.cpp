// Every header-signing case of the AWS SigV4 test suite (tests/aws/sigv4-test-suite):
// the canonical request, the string to sign, the signature and the signed
// request must match exactly.
#include "aws/sigv4.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iterator>
#include <sstream>

#include "base/json.h"

namespace secret_rotator::aws {
namespace {

namespace fs = std::filesystem;

fs::path SuiteDir() {
  const char* configured = std::getenv("SIGV4_TEST_SUITE");
  return configured != nullptr ? fs::path(configured) : fs::path(SIGV4_TEST_SUITE_DIR);
}

std::string ReadFile(const fs::path& path) {
  std::ifstream file(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
}

std::chrono::system_clock::time_point ParseTimestamp(const std::string& text) {
  std::tm utc{};
  std::istringstream in(text);
  in >> std::get_time(&utc, "%Y-%m-%dT%H:%M:%SZ");
  return std::chrono::system_clock::from_time_t(timegm(&utc));
}

// Parses a raw HTTP request as the suite writes it: request line, headers
// (a line starting with white space continues the previous header), a blank
// line, the body.
RequestToSign ParseRawRequest(const std::string& raw) {
  RequestToSign request;
  const std::size_t head_end = raw.find("\n\n");
  const std::string head = raw.substr(0, head_end);
  if (head_end != std::string::npos) request.body = raw.substr(head_end + 2);
  std::istringstream lines(head);
  std::string line;
  std::getline(lines, line);
  // "METHOD TARGET HTTP/1.1": the target may itself contain spaces.
  const std::size_t first_space = line.find(' ');
  const std::size_t last_space = line.rfind(' ');
  request.method = line.substr(0, first_space);
  const std::string target = line.substr(first_space + 1, last_space - first_space - 1);
  const std::size_t question = target.find('?');
  request.path = target.substr(0, question);
  if (question != std::string::npos) request.query = target.substr(question + 1);
  while (std::getline(lines, line)) {
    if (!line.empty() && (line[0] == ' ' || line[0] == '\t') && !request.headers.empty()) {
      request.headers.back().value += "\n" + line;
      continue;
    }
    const std::size_t colon = line.find(':');
    request.headers.push_back({line.substr(0, colon), line.substr(colon + 1)});
  }
  return request;
}

std::vector<std::string> SortedLines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  std::sort(lines.begin(), lines.end());
  return lines;
}

std::vector<std::string> CaseNames() {
  std::vector<std::string> names;
  if (!fs::is_directory(SuiteDir())) return names;
  for (const auto& entry : fs::directory_iterator(SuiteDir())) {
    if (fs::exists(entry.path() / "header-signature.txt")) {
      names.push_back(entry.path().filename().string());
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

class SigV4SuiteTest : public ::testing::TestWithParam<std::string> {};

TEST_P(SigV4SuiteTest, ReproducesCanonicalRequestStringToSignAndSignature) {
  const fs::path dir = SuiteDir() / GetParam();
  Result<JsonValue> context = ParseJson(ReadFile(dir / "context.json"), "context.json", "Test");
  ASSERT_TRUE(context.ok()) << context.status().message();
  const JsonValue& c = *context;

  Credentials credentials;
  credentials.access_key_id = c["credentials"]["access_key_id"].get<std::string>();
  credentials.secret_access_key = Secret(c["credentials"]["secret_access_key"].get<std::string>());
  if (c["credentials"].contains("token")) {
    credentials.session_token = Secret(c["credentials"]["token"].get<std::string>());
  }
  SigningOptions options;
  options.region = c["region"].get<std::string>();
  options.service = c["service"].get<std::string>();
  options.time = ParseTimestamp(c["timestamp"].get<std::string>());
  options.normalize_path = c.value("normalize", true);
  options.sign_body = c.value("sign_body", false);
  options.omit_session_token = c.value("omit_session_token", false);

  const std::string raw_request = ReadFile(dir / "request.txt");
  const RequestToSign request = ParseRawRequest(raw_request);
  const SignedRequest signed_request = SignRequest(request, credentials, options);

  EXPECT_EQ(signed_request.canonical_request, ReadFile(dir / "header-canonical-request.txt"));
  EXPECT_EQ(signed_request.string_to_sign, ReadFile(dir / "header-string-to-sign.txt"));
  EXPECT_EQ(signed_request.signature, ReadFile(dir / "header-signature.txt"));

  // The signed request is the original plus the added headers.
  std::string rebuilt = raw_request.substr(0, raw_request.find("\n\n"));
  for (const http::Header& header : signed_request.added_headers) {
    rebuilt += "\n" + header.name + ":" + header.value;
  }
  const std::string expected = ReadFile(dir / "header-signed-request.txt");
  EXPECT_EQ(SortedLines(rebuilt), SortedLines(expected.substr(0, expected.find("\n\n"))));
}

INSTANTIATE_TEST_SUITE_P(AllHeaderCases, SigV4SuiteTest, ::testing::ValuesIn(CaseNames()),
                         [](const auto& test_info) {
                           std::string name = test_info.param;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

TEST(SigV4Suite, IsPresentAndComplete) {
  // Guards against a silently empty parameter list.
  EXPECT_GE(CaseNames().size(), 38u) << "suite folder: " << SuiteDir();
}

TEST(SigV4, SignatureChangesWithTheBody) {
  Credentials credentials{"AKID", Secret(std::string("secret")), Secret(), std::nullopt};
  SigningOptions options{"us-east-1", "secretsmanager", std::chrono::system_clock::now()};
  RequestToSign request{"POST", "/", "", {{"Host", "example.com"}}, "{\"a\":1}"};
  const std::string first = SignRequest(request, credentials, options).signature;
  request.body = "{\"a\":2}";
  EXPECT_NE(first, SignRequest(request, credentials, options).signature);
}

}  // namespace
}  // namespace secret_rotator::aws
