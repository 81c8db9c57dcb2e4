// ReplaceJsonStrings: only the edited values change, byte for byte; the new
// values are escaped; bad input is refused without a value in the message;
// and no buffer it frees still holds a password.
//
// This binary is linked with -Wl,--wrap=free, so that the wipe test sees
// every block RapidJSON's side of the rewrite frees (see FreedBlocks below).
#include "base/json_edit.h"

#include <gtest/gtest.h>
#include <malloc.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "base/json.h"

namespace {

// What the wrapped free() looks for in each block before it is freed.
struct FreedBlocks {
  bool watching = false;
  std::vector<std::string> markers;
  int blocks = 0;
  int with_marker = 0;
};
FreedBlocks freed;

}  // namespace

extern "C" void __real_free(void* pointer);  // NOLINT(*-reserved-identifier)

// Every free() of the code linked into this binary (the base library and
// RapidJSON's side of the rewrite) comes here first.
extern "C" void __wrap_free(void* pointer) {  // NOLINT(*-reserved-identifier)
  if (freed.watching && pointer != nullptr) {
    const std::string_view block(static_cast<const char*>(pointer), malloc_usable_size(pointer));
    ++freed.blocks;
    for (const std::string& marker : freed.markers) {
      if (block.find(marker) != std::string_view::npos) ++freed.with_marker;
    }
  }
  __real_free(pointer);
}

namespace secret_rotator {
namespace {

Result<Secret> Replace(const std::string& text, const std::vector<JsonStringEdit>& edits) {
  return ReplaceJsonStrings(text, edits, "the test secret", "InvalidSecret");
}

std::string ReplacePassword(const std::string& text, std::string_view password = "new") {
  Result<Secret> result = Replace(text, {{"password", password}});
  if (!result.ok()) return "error: " + result.status().type() + ": " + result.status().message();
  return std::string(result->reveal());
}

struct KeepCase {
  const char* name;
  std::string before;
  std::string after;
};

TEST(ReplaceJsonStrings, KeepsEveryByteOutsideThePassword) {
  const std::vector<KeepCase> cases = {
      {"big integer", R"({"password":"old","n":123456789012345678901234567890})",
       R"({"password":"new","n":123456789012345678901234567890})"},
      {"below int64", R"({"n":-9223372036854775809,"password":"old"})",
       R"({"n":-9223372036854775809,"password":"new"})"},
      {"above uint64", R"({"n":18446744073709551616,"password":"old"})",
       R"({"n":18446744073709551616,"password":"new"})"},
      {"trailing zero", R"({"password":"old","f":0.10,"g":1.0,"h":100})",
       R"({"password":"new","f":0.10,"g":1.0,"h":100})"},
      {"exponents and minus zero",
       R"({"password":"old","a":1E+2,"b":-0,"c":-0.0,"d":1.5e-400,"e":0.1e309,"f":2e-0})",
       R"({"password":"new","a":1E+2,"b":-0,"c":-0.0,"d":1.5e-400,"e":0.1e309,"f":2e-0})"},
      {"long fraction", R"({"password":"old","pi":3.14159265358979323846264338327950288419716939})",
       R"({"password":"new","pi":3.14159265358979323846264338327950288419716939})"},
      {"escapes kept", R"({"password":"old","url":"http:\/\/h\/p","e":"\u00e9\u00E9\t\"\\"})",
       R"({"password":"new","url":"http:\/\/h\/p","e":"\u00e9\u00E9\t\"\\"})"},
      {"surrogate pair and U+2028 escapes", R"({"s":"\uD83D\uDE00\u2028\u0000","password":"old"})",
       R"({"s":"\uD83D\uDE00\u2028\u0000","password":"new"})"},
      {"raw UTF-8 kept", "{\"password\":\"old\",\"\xc3\xbc\":\"v\xc3\xa4lue \xe2\x80\xa8\"}",
       "{\"password\":\"new\",\"\xc3\xbc\":\"v\xc3\xa4lue \xe2\x80\xa8\"}"},
      {"key order", R"({"z":1,"password":"old","a":2,"m":{"z":0,"a":1}})",
       R"({"z":1,"password":"new","a":2,"m":{"z":0,"a":1}})"},
      {"whitespace", "{\n  \"password\"  :\t \"old\" ,\r\n  \"x\" : [ 1 , 2 ]\n}\n",
       "{\n  \"password\"  :\t \"new\" ,\r\n  \"x\" : [ 1 , 2 ]\n}\n"},
      {"nested password untouched",
       R"({"nested":{"password":"inner","list":[18446744073709551616,{"deep":[-1e-7,)"
       R"(123456789012345678901234567890.5]}]},"password":"old","arr":[{"password":"x"}]})",
       R"({"nested":{"password":"inner","list":[18446744073709551616,{"deep":[-1e-7,)"
       R"(123456789012345678901234567890.5]}]},"password":"new","arr":[{"password":"x"}]})"},
      {"escaped key", R"({"pass\u0077ord":"old","x":"\/"})", R"({"pass\u0077ord":"new","x":"\/"})"},
      {"old value with escapes", R"({"password":"o\"l\\d\u0000\/\uD83D\uDE00","x":true})",
       R"({"password":"new","x":true})"},
      {"empty old value", R"({"password":"","x":null})", R"({"password":"new","x":null})"},
      {"password as a key elsewhere", R"({"a":{"password":1},"password":"old","b":["password"]})",
       R"({"a":{"password":1},"password":"new","b":["password"]})"},
  };
  for (const KeepCase& c : cases) {
    EXPECT_EQ(ReplacePassword(c.before), c.after) << c.name;
  }
}

TEST(ReplaceJsonStrings, ReplacesUsernameAndPasswordWhereverTheyAre) {
  const std::string before =
      R"({"username" : "app","n":1.0,"password":"old","tail":123456789012345678901234567890})";
  Result<Secret> after = Replace(before, {{"password", "new"}, {"username", "app_clone"}});
  ASSERT_TRUE(after.ok()) << after.status().message();
  EXPECT_EQ(
      after->reveal(),
      R"({"username" : "app_clone","n":1.0,"password":"new","tail":123456789012345678901234567890})");
  // The edits' order does not matter.
  Result<Secret> reversed = Replace(before, {{"username", "app_clone"}, {"password", "new"}});
  ASSERT_TRUE(reversed.ok());
  EXPECT_TRUE(reversed->Equals(*after));
}

struct EscapeCase {
  const char* name;
  std::string value;
  std::string written;
};

TEST(ReplaceJsonStrings, WritesHostileValuesAsEscapedJsonStrings) {
  const std::vector<EscapeCase> cases = {
      {"plain", "abc", R"("abc")"},
      {"quote", "a\"b", R"("a\"b")"},
      {"backslash", "a\\b", R"("a\\b")"},
      {"slash is not escaped", "a/b", R"("a/b")"},
      {"control characters", "\x01\n\t\r\b\f\x1f\x7f",
       R"("\u0001\n\t\r\b\f\u001F)"
       "\x7f\""},
      {"NUL", std::string("a\0b", 3), R"("a\u0000b")"},
      {"non-ASCII", "\xc3\xbc", R"("\u00FC")"},
      {"U+2028 and U+2029", "\xe2\x80\xa8\xe2\x80\xa9", R"("\u2028\u2029")"},
      {"beyond the BMP", "\xf0\x9f\x98\x80", R"("\uD83D\uDE00")"},
      {"JSON-looking", R"(","password":"x)", R"("\",\"password\":\"x")"},
      {"empty", "", R"("")"},
  };
  for (const EscapeCase& c : cases) {
    const std::string after = ReplacePassword(R"({"password":"old","x":1})", c.value);
    EXPECT_EQ(after, "{\"password\":" + c.written + ",\"x\":1}") << c.name;
    // It reads back as exactly the value.
    Result<JsonValue> parsed = ParseJson(after, "the result", "T");
    ASSERT_TRUE(parsed.ok()) << c.name << ": " << parsed.status().message();
    EXPECT_EQ((*parsed)["password"].get<std::string>(), c.value) << c.name;
  }
}

struct RefusedCase {
  const char* name;
  std::string text;
  std::string message;  // a part of the error message
};

TEST(ReplaceJsonStrings, RefusesBadInputWithoutQuotingIt) {
  std::string deep = R"({"password":"hunter2","d":)";
  for (int i = 0; i < kMaxJsonDepth; ++i) deep += "[";
  for (int i = 0; i < kMaxJsonDepth; ++i) deep += "]";
  deep += "}";
  const std::vector<RefusedCase> cases = {
      {"duplicate password", R"({"password":"hunter2","password":"x"})", "a key appears twice"},
      {"duplicate escaped key", R"({"password":"hunter2","pass\u0077ord":"x"})",
       "a key appears twice"},
      {"duplicate nested key", R"({"password":"hunter2","n":{"a":1,"a":2}})",
       "a key appears twice"},
      {"too deep", deep, "nested deeper than"},
      {"trailing text", R"({"password":"hunter2"} x)", "not valid JSON"},
      {"second value", R"({"password":"hunter2"}{})", "not valid JSON"},
      {"trailing NUL", std::string(R"({"password":"hunter2"})") + '\0', "not valid JSON"},
      {"NUL inside", std::string(R"({"password":"hunter2",)") + '\0' + "}", "not valid JSON"},
      {"comment", R"({"password":"hunter2"/*c*/})", "not valid JSON"},
      {"trailing comma", R"({"password":"hunter2",})", "not valid JSON"},
      {"NaN", R"({"password":"hunter2","x":NaN})", "not valid JSON"},
      {"leading zero", R"({"password":"hunter2","x":01})", "not valid JSON"},
      {"invalid UTF-8", "{\"password\":\"hunter2\",\"x\":\"\xff\"}", "not valid JSON"},
      {"UTF-8 surrogate", "{\"password\":\"hunter2\",\"x\":\"\xed\xa0\x80\"}", "not valid JSON"},
      {"lone high surrogate", R"({"password":"hunter2","x":"\uD800"})", "not valid JSON"},
      {"lone low surrogate", R"({"password":"hunter2","x":"\uDC00"})", "not valid JSON"},
      {"raw control character", "{\"password\":\"hunter2\x01\"}", "not valid JSON"},
      {"number beyond double", R"({"password":"hunter2","x":1e400})", "not valid JSON"},
      // nlohmann reads this as 0; RapidJSON refuses an exponent beyond
      // double's range whatever the value (the README says so).
      {"zero with a huge exponent", R"({"password":"hunter2","x":0e400})", "not valid JSON"},
      {"not an object", R"(["hunter2"])", "must be a JSON object, not an array"},
      {"a string", R"("hunter2")", "must be a JSON object, not a string"},
      {"empty", "", "not valid JSON"},
      {"password missing", R"({"passwd":"hunter2"})", "field 'password' is missing"},
      {"password only nested", R"({"n":{"password":"hunter2"}})", "field 'password' is missing"},
      {"password not a string", R"({"password":["hunter2"]})",
       "field 'password' must be a string, not an array"},
      {"password a number", R"({"password":12345,"x":"hunter2"})",
       "field 'password' must be a string, not a number"},
      {"password null", R"({"password":null,"x":"hunter2"})",
       "field 'password' must be a string, not null"},
  };
  for (const RefusedCase& c : cases) {
    Result<Secret> result = Replace(c.text, {{"password", "new"}});
    ASSERT_FALSE(result.ok()) << c.name;
    EXPECT_EQ(result.status().type(), "InvalidSecret") << c.name;
    EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument) << c.name;
    EXPECT_EQ(result.status().message().rfind("the test secret", 0), 0u)
        << c.name << ": " << result.status().message();
    EXPECT_NE(result.status().message().find(c.message), std::string::npos)
        << c.name << ": " << result.status().message();
    EXPECT_EQ(result.status().message().find("hunter2"), std::string::npos)
        << c.name << ": " << result.status().message();
  }
}

TEST(ReplaceJsonStrings, RefusesANewValueThatIsNotUtf8) {
  for (const std::string& value :
       {std::string("\xff"), std::string("ab\xc3"), std::string("\xed\xa0\x80"),
        std::string("\xc0\xaf"), std::string("\xf4\x90\x80\x80")}) {
    Result<Secret> result = Replace(R"({"password":"old"})", {{"password", value}});
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.status().type(), "InvalidSecret");
    EXPECT_NE(
        result.status().message().find("the new value of field 'password' is not valid UTF-8"),
        std::string::npos)
        << result.status().message();
  }
}

TEST(ReplaceJsonStrings, EveryFreedBufferWasWiped) {
  // Long values, so that the reader's stack and the writer's buffer (256
  // bytes to start with) grow and free their first blocks on the way.
  std::string old_password;
  std::string new_password;
  for (int i = 0; i < 40; ++i) old_password += "OLD-PASSWORD-" + std::to_string(i);
  for (int i = 0; i < 40; ++i) new_password += "NEW-PASSWORD-" + std::to_string(i);
  const std::string text = R"({"username":"u","password":")" + old_password + R"(","n":1.0})";
  freed = FreedBlocks{true, {"OLD-PASSWORD-1", "NEW-PASSWORD-1"}, 0, 0};
  {
    Result<Secret> result = Replace(text, {{"password", new_password}});
    ASSERT_TRUE(result.ok()) << result.status().message();
    EXPECT_NE(result->reveal().find(new_password), std::string::npos);
  }
  const FreedBlocks seen = freed;
  freed.watching = false;
  EXPECT_GT(seen.blocks, 4) << "the wrapped free() saw the rewrite's blocks";
  EXPECT_EQ(seen.with_marker, 0) << "a block was freed with a password in it";

  // The check itself can fail: a block freed unwiped is seen.
  freed = FreedBlocks{true, {"OLD-PASSWORD-1"}, 0, 0};
  // volatile: the compiler may not drop a malloc/memcpy/free it can see through.
  char* volatile unwiped = static_cast<char*>(std::malloc(old_password.size()));
  ASSERT_NE(unwiped, nullptr);
  std::memcpy(unwiped, old_password.data(), old_password.size());
  std::free(unwiped);
  freed.watching = false;
  EXPECT_EQ(freed.with_marker, 1);
}

}  // namespace
}  // namespace secret_rotator
