// The policies every engine shares (strategies/strategy.h): one table each.
#include "strategies/strategy.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>

namespace secret_rotator::strategies {
namespace {

std::string SslText(std::optional<bool> ssl) { return ssl ? (*ssl ? "true" : "false") : "absent"; }

TEST(ResolveConnectionTls, DbTlsModeIsAFloorTheSecretMayOnlyRaise) {
  struct Case {
    TlsMode configured;
    std::optional<bool> ssl;
    bool allow_downgrade;
    TlsMode expected;
    const char* explained;  // part of the description
  };
  const Case cases[] = {
      {TlsMode::kVerifyFull, std::nullopt, false, TlsMode::kVerifyFull, "DB_TLS_MODE=verify-full"},
      {TlsMode::kVerifyCa, std::nullopt, false, TlsMode::kVerifyCa, "DB_TLS_MODE=verify-ca"},
      {TlsMode::kRequire, std::nullopt, false, TlsMode::kRequire, "DB_TLS_MODE=require"},
      {TlsMode::kDisable, std::nullopt, false, TlsMode::kDisable, "DB_TLS_MODE=disable"},
      // "ssl": true asks for more: never less than DB_TLS_MODE, TLS verified
      // when DB_TLS_MODE had it off.
      {TlsMode::kVerifyFull, true, false, TlsMode::kVerifyFull, "DB_TLS_MODE=verify-full"},
      {TlsMode::kVerifyCa, true, false, TlsMode::kVerifyCa, "DB_TLS_MODE=verify-ca"},
      {TlsMode::kRequire, true, false, TlsMode::kRequire, "DB_TLS_MODE=require"},
      {TlsMode::kDisable, true, false, TlsMode::kVerifyFull, "\"ssl\" is true"},
      {TlsMode::kDisable, true, true, TlsMode::kVerifyFull, "\"ssl\" is true"},
      // "ssl": false asks for less: ignored unless the operator allows it.
      {TlsMode::kVerifyFull, false, false, TlsMode::kVerifyFull, "does not lower it"},
      {TlsMode::kVerifyCa, false, false, TlsMode::kVerifyCa, "does not lower it"},
      {TlsMode::kRequire, false, false, TlsMode::kRequire, "does not lower it"},
      {TlsMode::kDisable, false, false, TlsMode::kDisable, "DB_TLS_MODE=disable"},
      {TlsMode::kVerifyFull, false, true, TlsMode::kDisable, "DB_TLS_ALLOW_SECRET_DOWNGRADE"},
      {TlsMode::kRequire, false, true, TlsMode::kDisable, "DB_TLS_ALLOW_SECRET_DOWNGRADE"},
      {TlsMode::kDisable, false, true, TlsMode::kDisable, "DB_TLS_MODE=disable"},
      // Allowing a downgrade changes nothing for a secret that asks for none.
      {TlsMode::kVerifyCa, std::nullopt, true, TlsMode::kVerifyCa, "DB_TLS_MODE=verify-ca"},
  };
  for (const Case& c : cases) {
    StrategyConfig config;
    config.tls_mode = c.configured;
    config.allow_secret_tls_downgrade = c.allow_downgrade;
    const ConnectionTls tls = ResolveConnectionTls(config, c.ssl);
    const std::string label = std::string(TlsModeName(c.configured)) + " ssl=" + SslText(c.ssl) +
                              " allow=" + (c.allow_downgrade ? "yes" : "no");
    EXPECT_EQ(tls.mode, c.expected) << label;
    EXPECT_NE(tls.description.find(std::string("TLS mode ") + std::string(TlsModeName(c.expected))),
              std::string::npos)
        << label << ": " << tls.description;
    EXPECT_NE(tls.description.find(c.explained), std::string::npos)
        << label << ": " << tls.description;
  }
}

TEST(AlternateUsername, AddsOrRemovesTheCloneSuffix) {
  EXPECT_EQ(AlternateUsername("app"), "app_clone");
  EXPECT_EQ(AlternateUsername("app_clone"), "app");
  EXPECT_EQ(AlternateUsername("_clone"), "_clone_clone");
  EXPECT_TRUE(IsCloneName("app_clone"));
  EXPECT_FALSE(IsCloneName("_clone"));
  EXPECT_FALSE(IsCloneName("app"));
}

TEST(CheckAdminIsNotRotated, RefusesTheRotatedUserAndItsAlternate) {
  struct Case {
    const char* admin;
    const char* current;
    bool refused;
  };
  const Case cases[] = {
      {"admin", "app", false},        {"admin", "app_clone", false},
      {"app", "app", true},           {"app_clone", "app", true},
      {"app", "app_clone", true},     {"app_clone", "app_clone", true},
      {"admin_clone", "admin", true}, {"App", "app", false},
  };
  for (const Case& c : cases) {
    const Status status = CheckAdminIsNotRotated(c.admin, c.current);
    EXPECT_EQ(!status.ok(), c.refused) << c.admin << " / " << c.current;
    if (c.refused) {
      EXPECT_EQ(status.type(), db_error::kAccountMismatch);
      EXPECT_NE(status.message().find("Nothing was changed"), std::string::npos);
    }
  }
}

TEST(DecideTargetAccount, AdoptsOnlyAccountsProvenToBeThisRotations) {
  struct Case {
    const char* target;
    bool exists;
    bool pending_logs_in;
    bool previous_logs_in;
    std::optional<TargetAccountAction> expected;  // nullopt: refused
  };
  const Case cases[] = {
      // A missing clone is created; a missing original is never made up.
      {"app_clone", false, false, false, TargetAccountAction::kCreate},
      {"app", false, false, false, std::nullopt},
      // An existing account is adopted only with proof.
      {"app_clone", true, true, false, TargetAccountAction::kAdopt},
      {"app_clone", true, false, true, TargetAccountAction::kAdopt},
      {"app", true, false, true, TargetAccountAction::kAdopt},
      {"app", true, true, false, TargetAccountAction::kAdopt},
      {"app_clone", true, false, false, std::nullopt},
      {"app", true, false, false, std::nullopt},
  };
  for (const Case& c : cases) {
    TargetAccountFacts facts{c.target, c.exists, c.pending_logs_in, c.previous_logs_in};
    const Result<TargetAccountAction> action = DecideTargetAccount(facts, "'x'@'%'");
    const std::string label = std::string(c.target) + (c.exists ? " exists" : " missing") +
                              (c.pending_logs_in ? " pending" : "") +
                              (c.previous_logs_in ? " previous" : "");
    if (c.expected) {
      ASSERT_TRUE(action.ok()) << label << ": " << action.status().message();
      EXPECT_EQ(*action, *c.expected) << label;
    } else {
      ASSERT_FALSE(action.ok()) << label;
      EXPECT_EQ(action.status().type(), db_error::kAccountNotManaged) << label;
      EXPECT_NE(action.status().message().find("'x'@'%'"), std::string::npos) << label;
    }
  }
}

}  // namespace
}  // namespace secret_rotator::strategies
