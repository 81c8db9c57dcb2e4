#include "base/secret.h"

#include <gtest/gtest.h>

#include <sstream>
#include <type_traits>

namespace secret_rotator {
namespace {

template <typename T>
concept Streamable = requires(std::ostream& out, const T& value) {
  out << value;
};

TEST(Secret, CannotBeStreamedOrConvertedImplicitly) {
  static_assert(!Streamable<Secret>);
  static_assert(!std::is_convertible_v<Secret, std::string>);
  static_assert(!std::is_convertible_v<Secret, std::string_view>);
  static_assert(!std::is_convertible_v<std::string, Secret>);
}

TEST(Secret, GoogleTestPrintsItRedacted) {
  const Secret secret(std::string("hunter2"));
  const std::string printed = ::testing::PrintToString(secret);
  EXPECT_EQ(printed.find("hunter2"), std::string::npos);
  EXPECT_NE(printed.find("redacted"), std::string::npos);
}

TEST(Secret, MovedFromIsEmptyAndEqualsComparesBytes) {
  Secret a(std::string("short"));
  Secret b = std::move(a);
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): the contract under test
  EXPECT_EQ(b.reveal(), "short");
  EXPECT_TRUE(b.Equals(Secret(std::string("short"))));
  EXPECT_FALSE(b.Equals(Secret(std::string("shorT"))));
  EXPECT_FALSE(b.Equals(Secret(std::string("shorter"))));
}

TEST(WipeString, OverwritesTheWholeBuffer) {
  std::string text = "a fairly long secret value that lives on the heap";
  const char* data = text.data();
  const std::size_t size = text.size();
  WipeString(text);
  EXPECT_TRUE(text.empty());
  // The heap buffer is still owned by `text` (clear keeps capacity).
  for (std::size_t i = 0; i < size; ++i) EXPECT_EQ(data[i], '\0');
}

}  // namespace
}  // namespace secret_rotator
