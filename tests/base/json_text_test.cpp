#include "base/json_text.h"

#include <gtest/gtest.h>

#include "base/json.h"

namespace secret_rotator {
namespace {

TEST(JsonString, EscapesQuotesBackslashesAndControlCharacters) {
  EXPECT_EQ(JsonString("a\"b\\c\nd\te\x01"), R"("a\"b\\c\nd\te\u0001")");
}

TEST(JsonString, KeepsValidUtf8AndReplacesInvalidBytes) {
  EXPECT_EQ(JsonString("\xc3\xbc\xe1\x88\xb4"), "\"\xc3\xbc\xe1\x88\xb4\"");
  EXPECT_EQ(JsonString("a\xff"
                       "b\xc3"),
            R"("a\ufffdb\ufffd")");
  EXPECT_EQ(JsonString("\xed\xa0\x80"), R"("\ufffd\ufffd\ufffd")") << "surrogates are invalid";
}

TEST(JsonString, OutputAlwaysParses) {
  std::string all_bytes;
  for (int c = 0; c < 256; ++c) all_bytes += static_cast<char>(c);
  Result<JsonValue> parsed = ParseJson(JsonString(all_bytes), "test", "Test");
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_TRUE(parsed->is_string());
}

TEST(ParseJson, RejectsDuplicateKeysCommentsAndTrailingText) {
  EXPECT_FALSE(ParseJson(R"({"a":1,"a":2})", "x", "T").ok());
  EXPECT_FALSE(ParseJson("/*c*/{}", "x", "T").ok());
  EXPECT_FALSE(ParseJson("{} {}", "x", "T").ok());
  EXPECT_TRUE(ParseJson("{\"a\":[1,2]}", "x", "T").ok());
}

TEST(ParseJson, ErrorNamesWhatAndNeverQuotesTheInput) {
  Result<JsonValue> parsed = ParseJson("{\"password\": hunter2}", "the secret", "InvalidSecret");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().type(), "InvalidSecret");
  EXPECT_EQ(parsed.status().message().rfind("the secret is not valid JSON", 0), 0u);
  EXPECT_EQ(parsed.status().message().find("hunter2"), std::string::npos);
}

TEST(ParseJson, RefusesDeepNestingInsteadOfOverflowingTheStack) {
  EXPECT_FALSE(ParseJson(std::string(100000, '['), "x", "T").ok());
}

}  // namespace
}  // namespace secret_rotator
