#include "base/env.h"

#include <gtest/gtest.h>

namespace secret_rotator {
namespace {

TEST(ParseBoolSetting, AcceptsTheWordsAwsFunctionsAccept) {
  for (const char* yes : {"true", "TRUE", "1", "y", "Yes"})
    EXPECT_TRUE(*ParseBoolSetting("X", yes)) << yes;
  for (const char* no : {"false", "0", "n", "No", ""})
    EXPECT_FALSE(*ParseBoolSetting("X", no)) << no;
}

TEST(ParseBoolSetting, RefusesAnythingElseInsteadOfDefaultingToFalse) {
  Result<bool> parsed = ParseBoolSetting("EXCLUDE_NUMBERS", "ture");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().type(), "ConfigurationError");
  EXPECT_EQ(parsed.status().message(),
            "EXCLUDE_NUMBERS must be true/1/y/yes or false/0/n/no, not 'ture'");
}

}  // namespace
}  // namespace secret_rotator
