// The MySQL/MariaDB strategies' pure text functions and their registration.
#include "strategies/mysql_sql.h"

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>

#include "base/secret.h"
#include "strategies/mysql_strategy.h"
#include "strategies/mysql_tls_gate.h"

namespace secret_rotator::strategies::mysql {
namespace {

using std::chrono::milliseconds;

struct VersionCase {
  const char* text;
  bool mariadb;
  int major, minor, patch;
};

TEST(MySqlServerVersion, ParsesEveryFlavour) {
  const VersionCase cases[] = {
      {"8.0.36", false, 8, 0, 36},
      {"5.7.44-log", false, 5, 7, 44},
      {"10.11.19-MariaDB-0+deb12u1-log", true, 10, 11, 19},
      {"5.5.5-10.6.16-MariaDB", true, 10, 6, 16},
      {"8.0.mysql_aurora.3.05.2", false, 8, 0, 0},
      {"11.4.2-MariaDB", true, 11, 4, 2},
      {"5.6", false, 5, 6, 0},
  };
  for (const VersionCase& c : cases) {
    std::optional<ServerVersion> version = ParseServerVersion(c.text);
    ASSERT_TRUE(version.has_value()) << c.text;
    EXPECT_EQ(version->mariadb, c.mariadb) << c.text;
    EXPECT_EQ(version->major, c.major) << c.text;
    EXPECT_EQ(version->minor, c.minor) << c.text;
    EXPECT_EQ(version->patch, c.patch) << c.text;
  }
}

TEST(MySqlServerVersion, RejectsTextWithoutMajorAndMinor) {
  EXPECT_FALSE(ParseServerVersion("").has_value());
  EXPECT_FALSE(ParseServerVersion("MariaDB").has_value());
  EXPECT_FALSE(ParseServerVersion("8").has_value());
  EXPECT_FALSE(ParseServerVersion("x.1.2").has_value());
}

TEST(MySqlServerVersion, ComparesAndNames) {
  const ServerVersion v{false, 5, 7, 6};
  EXPECT_TRUE(v.AtLeast(5, 7, 6));
  EXPECT_TRUE(v.AtLeast(5, 6, 99));
  EXPECT_FALSE(v.AtLeast(5, 7, 7));
  EXPECT_FALSE(v.AtLeast(8, 0, 0));
  EXPECT_EQ(v.Name(), "MySQL 5.7.6");
  EXPECT_EQ((ServerVersion{true, 10, 11, 19}).Name(), "MariaDB 10.11.19");
}

TEST(MySqlServerVersion, UsernameLimitFollowsTheServer) {
  EXPECT_EQ(MaxUsernameLength({true, 10, 11, 19}), 80U);
  EXPECT_EQ(MaxUsernameLength({true, 5, 5, 60}), 16U);
  EXPECT_EQ(MaxUsernameLength({false, 8, 0, 36}), 32U);
  EXPECT_EQ(MaxUsernameLength({false, 5, 7, 8}), 32U);
  EXPECT_EQ(MaxUsernameLength({false, 5, 7, 7}), 16U);
  EXPECT_EQ(MaxUsernameLength({false, 5, 6, 51}), 16U);
}

TEST(MySqlServerVersion, PasswordSyntaxFollowsTheServer) {
  EXPECT_EQ(PasswordChangeSyntax({false, 8, 0, 36}), PasswordSyntax::kAlterUser);
  EXPECT_EQ(PasswordChangeSyntax({false, 5, 7, 6}), PasswordSyntax::kAlterUser);
  EXPECT_EQ(PasswordChangeSyntax({false, 5, 7, 5}), PasswordSyntax::kSetPassword);
  EXPECT_EQ(PasswordChangeSyntax({false, 5, 6, 51}), PasswordSyntax::kSetPassword);
  EXPECT_EQ(PasswordChangeSyntax({true, 10, 11, 19}), PasswordSyntax::kSetPassword);
  EXPECT_EQ(PasswordChangeSyntax({true, 10, 1, 0}), PasswordSyntax::kSetPassword);
  EXPECT_TRUE(SupportsAlterUser({true, 10, 2, 0}));
  EXPECT_FALSE(SupportsAlterUser({true, 10, 1, 48}));
  EXPECT_TRUE(SupportsAlterUser({false, 5, 7, 6}));
  EXPECT_FALSE(SupportsAlterUser({false, 5, 6, 51}));
}

TEST(MySqlText, CountsUtf8Characters) {
  EXPECT_EQ(Utf8Length(""), 0U);
  EXPECT_EQ(Utf8Length("user"), 4U);
  EXPECT_EQ(Utf8Length("\xC3\xBCser"), 4U);                   // üser
  EXPECT_EQ(Utf8Length("\xE2\x82\xAC\xF0\x9F\x98\x80"), 2U);  // euro sign, emoji
}

TEST(MySqlTls, TimeoutIsRemainingTimeCappedAtFiveSeconds) {
  EXPECT_EQ(IoTimeoutSeconds(milliseconds(60000)), 5U);
  EXPECT_EQ(IoTimeoutSeconds(milliseconds(5000)), 5U);
  EXPECT_EQ(IoTimeoutSeconds(milliseconds(3999)), 3U);
  EXPECT_EQ(IoTimeoutSeconds(milliseconds(999)), 1U);
  EXPECT_EQ(IoTimeoutSeconds(milliseconds(0)), 1U);
}

TEST(MySqlAccount, SplitsCurrentUserAtTheLastAt) {
  EXPECT_EQ(SplitCurrentUser("app@%"), (Account{"app", "%"}));
  EXPECT_EQ(SplitCurrentUser("a@b@10.0.%"), (Account{"a@b", "10.0.%"}));
  EXPECT_EQ(SplitCurrentUser("@localhost"), (Account{"", "localhost"}));
  EXPECT_FALSE(SplitCurrentUser("nohost").has_value());
}

const Account app_account{"app", "%"};
constexpr char kClone[] = "'app_clone'@'%'";

TEST(MySqlGrants, ReplacesOnlyTheGrantee) {
  // A database and a table named like the user stay as they are.
  EXPECT_EQ(RewriteGrant("GRANT ALL PRIVILEGES ON `app`.* TO `app`@`%`", app_account, kClone),
            "GRANT ALL PRIVILEGES ON `app`.* TO 'app_clone'@'%'");
  EXPECT_EQ(
      RewriteGrant("GRANT SELECT (`to`, `app`) ON `app`.`app` TO `app`@`%`", app_account, kClone),
      "GRANT SELECT (`to`, `app`) ON `app`.`app` TO 'app_clone'@'%'");
  // A database named " TO `app`@`%`" cannot fool the tokenizer.
  EXPECT_EQ(
      RewriteGrant("GRANT SELECT ON ` TO ``app``@``%`` `.* TO `app`@`%`", app_account, kClone),
      "GRANT SELECT ON ` TO ``app``@``%`` `.* TO 'app_clone'@'%'");
}

TEST(MySqlGrants, DropsPasswordHashRequireAndLimits) {
  EXPECT_EQ(RewriteGrant("GRANT USAGE ON *.* TO `app`@`%` IDENTIFIED BY PASSWORD "
                         "'*9F75CEF7FD0C75DC40611DD8F86B6FFF569BF56D' REQUIRE SSL",
                         app_account, kClone),
            "GRANT USAGE ON *.* TO 'app_clone'@'%'");
  EXPECT_EQ(RewriteGrant("GRANT USAGE ON *.* TO `app`@`%` IDENTIFIED VIA ed25519 USING "
                         "'abc' REQUIRE ISSUER '/C=x' AND SUBJECT 'y' WITH MAX_USER_CONNECTIONS 5",
                         app_account, kClone),
            "GRANT USAGE ON *.* TO 'app_clone'@'%'");
}

TEST(MySqlGrants, KeepsGrantAndAdminOption) {
  EXPECT_EQ(
      RewriteGrant("GRANT SELECT ON `db`.* TO `app`@`%` WITH GRANT OPTION", app_account, kClone),
      "GRANT SELECT ON `db`.* TO 'app_clone'@'%' WITH GRANT OPTION");
  EXPECT_EQ(RewriteGrant("GRANT USAGE ON *.* TO `app`@`%` IDENTIFIED BY PASSWORD '*AB' WITH "
                         "GRANT OPTION MAX_QUERIES_PER_HOUR 10",
                         app_account, kClone),
            "GRANT USAGE ON *.* TO 'app_clone'@'%' WITH GRANT OPTION");
  EXPECT_EQ(RewriteGrant("GRANT `r1` TO `app`@`%` WITH ADMIN OPTION", app_account, kClone),
            "GRANT `r1` TO 'app_clone'@'%' WITH ADMIN OPTION");
}

TEST(MySqlGrants, HandlesRolesDefaultRolesRevokesAndOldQuoting) {
  EXPECT_EQ(RewriteGrant("GRANT `r1`,`r2` TO `app`@`%`", app_account, kClone),
            "GRANT `r1`,`r2` TO 'app_clone'@'%'");
  EXPECT_EQ(RewriteGrant("SET DEFAULT ROLE `r1` FOR `app`@`%`", app_account, kClone),
            "SET DEFAULT ROLE `r1` FOR 'app_clone'@'%'");
  EXPECT_EQ(RewriteGrant("REVOKE INSERT ON `mysql`.* FROM `app`@`%`", app_account, kClone),
            "REVOKE INSERT ON `mysql`.* FROM 'app_clone'@'%'");
  EXPECT_EQ(RewriteGrant("GRANT SELECT ON `db`.* TO 'app'@'%'", app_account, kClone),  // MySQL 5.7
            "GRANT SELECT ON `db`.* TO 'app_clone'@'%'");
  EXPECT_EQ(
      RewriteGrant("GRANT PROXY ON ''@'%' TO 'app'@'%' WITH GRANT OPTION", app_account, kClone),
      "GRANT PROXY ON ''@'%' TO 'app_clone'@'%' WITH GRANT OPTION");
}

TEST(MySqlGrants, DecodesHostileNames) {
  const Account hostile{"o'b`r\\x", "10.0.%"};
  EXPECT_EQ(RewriteGrant("GRANT SELECT ON *.* TO `o'b``r\\x`@`10.0.%`", hostile, "X"),
            "GRANT SELECT ON *.* TO X");
  EXPECT_EQ(RewriteGrant("GRANT SELECT ON *.* TO 'o\\'b`r\\\\x'@'10.0.%'", hostile, "X"),
            "GRANT SELECT ON *.* TO X");
  const Account unicode{"\xC3\xBCser", "%"};
  EXPECT_EQ(RewriteGrant("GRANT USAGE ON *.* TO `\xC3\xBCser`@`%`", unicode, "X"),
            "GRANT USAGE ON *.* TO X");
}

TEST(MySqlGrants, RefusesOtherShapesAndOtherGrantees) {
  EXPECT_FALSE(RewriteGrant("GRANT SELECT ON *.* TO `other`@`%`", app_account, kClone).has_value());
  EXPECT_FALSE(
      RewriteGrant("GRANT SELECT ON *.* TO `app`@`localhost`", app_account, kClone).has_value());
  EXPECT_FALSE(
      RewriteGrant("GRANT SELECT ON *.* TO `app`@`%`, `b`@`%`", app_account, kClone).has_value());
  EXPECT_FALSE(RewriteGrant("CREATE USER `app`@`%`", app_account, kClone).has_value());
  EXPECT_FALSE(RewriteGrant("GRANT SELECT ON *.* TO `app", app_account, kClone).has_value());
  EXPECT_FALSE(RewriteGrant("GRANT SELECT ON *.*", app_account, kClone).has_value());
  EXPECT_FALSE(RewriteGrant("", app_account, kClone).has_value());
}

TEST(MySqlGrants, RevokesWhatRevokeAllLeaves) {
  EXPECT_EQ(
      RevokeStatementFor("GRANT `r1`,`r2` TO `app`@`%` WITH ADMIN OPTION", app_account, kClone),
      "REVOKE `r1`,`r2` FROM 'app_clone'@'%'");
  EXPECT_EQ(RevokeStatementFor("GRANT `r1`@`%` TO `app`@`%`", app_account, kClone),
            "REVOKE `r1`@`%` FROM 'app_clone'@'%'");
  EXPECT_EQ(RevokeStatementFor("GRANT PROXY ON ''@'%' TO 'app'@'%'", app_account, kClone),
            "REVOKE PROXY ON ''@'%' FROM 'app_clone'@'%'");
  EXPECT_FALSE(RevokeStatementFor("GRANT SELECT ON `db`.* TO `app`@`%`", app_account, kClone));
  EXPECT_FALSE(RevokeStatementFor("SET DEFAULT ROLE `r1` FOR `app`@`%`", app_account, kClone));
  EXPECT_TRUE(IsDefaultRoleLine("SET DEFAULT ROLE `r1` FOR `app`@`%`"));
  EXPECT_FALSE(IsDefaultRoleLine("GRANT `r1` TO `app`@`%`"));
}

TEST(MySqlGrants, DropsDefaultRolesThatAreNotGranted) {
  const std::vector<std::string> granted = {"GRANT `r1` TO 'c'@'%'",
                                            "GRANT USAGE ON *.* TO 'c'@'%'",
                                            "SET DEFAULT ROLE `r1` FOR 'c'@'%'"};
  EXPECT_EQ(WithoutDanglingDefaultRoles(granted), granted);
  EXPECT_EQ(WithoutDanglingDefaultRoles(
                {"GRANT `r1`,`r2` TO 'c'@'%'", "SET DEFAULT ROLE `r2` FOR 'c'@'%'"}),
            (std::vector<std::string>{"GRANT `r1`,`r2` TO 'c'@'%'",
                                      "SET DEFAULT ROLE `r2` FOR 'c'@'%'"}));
  // Revoked role, still the default: the line goes. A grant ON a database
  // named like the role does not count.
  EXPECT_EQ(WithoutDanglingDefaultRoles(
                {"GRANT SELECT ON `r1`.* TO 'c'@'%'", "SET DEFAULT ROLE `r1` FOR 'c'@'%'"}),
            (std::vector<std::string>{"GRANT SELECT ON `r1`.* TO 'c'@'%'"}));
}

TEST(MySqlRequire, ReadsTheTlsRequirement) {
  using Items = std::vector<RequireItem>;
  EXPECT_EQ(ParseRequireClause("CREATE USER `a`@`%` IDENTIFIED BY PASSWORD '*AB' REQUIRE SSL"),
            (Items{{false, "SSL"}}));
  EXPECT_EQ(ParseRequireClause("CREATE USER `a`@`%` require x509 WITH MAX_USER_CONNECTIONS 3"),
            (Items{{false, "X509"}}));
  EXPECT_EQ(ParseRequireClause("CREATE USER `a`@`%` REQUIRE ISSUER '/C=F\\'I' AND SUBJECT "
                               "'/CN=x' AND CIPHER 'AES' PASSWORD EXPIRE"),
            (Items{{false, "ISSUER"},
                   {true, "/C=F'I"},
                   {false, "AND"},
                   {false, "SUBJECT"},
                   {true, "/CN=x"},
                   {false, "AND"},
                   {false, "CIPHER"},
                   {true, "AES"}}));
  EXPECT_EQ(ParseRequireClause("CREATE USER `a`@`%` IDENTIFIED BY PASSWORD '*AB'"), Items{});
  // MySQL 8 prints REQUIRE NONE and PASSWORD REQUIRE CURRENT.
  EXPECT_EQ(ParseRequireClause("CREATE USER `a`@`%` IDENTIFIED WITH 'caching_sha2_password' AS "
                               "'$A$005$x REQUIRE SSL' REQUIRE NONE PASSWORD EXPIRE DEFAULT "
                               "ACCOUNT UNLOCK PASSWORD REQUIRE CURRENT DEFAULT"),
            Items{});
  EXPECT_EQ(ParseRequireClause("CREATE USER `a`@`%` PASSWORD REQUIRE CURRENT REQUIRE SSL"),
            (Items{{false, "SSL"}}));
  EXPECT_FALSE(ParseRequireClause("CREATE USER `a`@`%` IDENTIFIED BY PASSWORD '*AB").has_value());
}

TEST(MySqlRegistry, RegistersThreeEnginesWithAwsDefaults) {
  StrategyRegistry registry;
  AddMySqlEngines(registry);
  for (const char* engine : {"mysql", "mariadb", "aurora-mysql"}) {
    const EngineEntry* entry = registry.Find(engine);
    ASSERT_NE(entry, nullptr) << engine;
    EXPECT_EQ(entry->default_port, 3306);
    EXPECT_EQ(entry->default_exclude_characters, "/@\"'\\");
    EXPECT_NE(entry->make(RotationKind::kSingleUser, StrategyConfig{}), nullptr);
    EXPECT_NE(entry->make(RotationKind::kAlternatingUsers, StrategyConfig{}), nullptr);
  }
  EXPECT_EQ(registry.Find("postgres"), nullptr);
}

TEST(MySqlAuthPlugin, ReadsTheIdentifiedClause) {
  struct Case {
    const char* create_user;
    std::optional<std::string> plugin;
  };
  const Case cases[] = {
      {"CREATE USER `u`@`%` IDENTIFIED BY PASSWORD '*2B602296A79E0A8784ACC5C88D92E46588CCA3C3'",
       "mysql_native_password"},
      {"CREATE USER `u`@`%` IDENTIFIED VIA ed25519 USING "
       "'ZIgUREUg5PVgQ6LskhXmO+eZLS0nC8be6HPjYWR4YJY'",
       "ed25519"},
      {"CREATE USER `u`@`%` IDENTIFIED VIA mysql_native_password USING '*2B60' REQUIRE SSL",
       "mysql_native_password"},
      {"CREATE USER 'u'@'%' IDENTIFIED WITH 'caching_sha2_password' AS '$A$005$x' REQUIRE NONE",
       "caching_sha2_password"},
      {"CREATE USER `u`@`%`", ""},
      {"CREATE USER `identified`@`%` REQUIRE SSL", ""},
      {"CREATE USER `u`@`%` IDENTIFIED VIA ed25519 USING 'x' OR unix_socket", std::nullopt},
      {"CREATE USER `u`@`%` IDENTIFIED VIA", std::nullopt},
      {"CREATE USER `u`@`%` IDENTIFIED BY PASSWORD 'unterminated", std::nullopt},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(AuthPluginOf(c.create_user), c.plugin) << c.create_user;
  }
}

TEST(MySqlNativePasswordHash, MatchesTheServersPasswordFunction) {
  // SELECT PASSWORD('pw1'), PASSWORD('password') on MariaDB 10.11.
  EXPECT_EQ(NativePasswordHash(Secret(std::string("pw1"))).reveal(),
            "*2B602296A79E0A8784ACC5C88D92E46588CCA3C3");
  EXPECT_EQ(NativePasswordHash(Secret(std::string("password"))).reveal(),
            "*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19");
  EXPECT_EQ(NativePasswordHash(Secret(std::string("a'b\\c\xC3\xA9"))).size(), 41U);
}

// A protocol-10 greeting with capability flags `flags` (low half).
std::string Greeting(unsigned int flags) {
  std::string payload(1, '\x0a');
  payload += "10.11.19-MariaDB";
  payload += '\0';
  payload += std::string(4, '\x01');  // connection id
  payload += std::string(8, 'a');     // auth data, part 1
  payload += '\0';                    // filler
  payload += static_cast<char>(flags & 0xFF);
  payload += static_cast<char>((flags >> 8) & 0xFF);
  payload += std::string(20, 'b');  // the rest, as a server sends it
  return payload;
}

// The first packet a client sends: 32 bytes for an SSLRequest, more for a login.
std::string ClientPacket(unsigned int flags, std::size_t size) {
  std::string payload(size, '\0');
  for (int i = 0; i < 4; ++i)
    payload[static_cast<std::size_t>(i)] = static_cast<char>(flags >> (8 * i));
  return payload;
}

TEST(MySqlTlsGate, LetsThroughOnlyAGreetingOfferingTlsAndAnSslRequest) {
  constexpr unsigned int kSsl = 0x0800;
  constexpr unsigned int kProtocol41 = 0x0200;
  EXPECT_TRUE(GreetingOffersTls(Greeting(0xFFFF)));
  EXPECT_TRUE(GreetingOffersTls(Greeting(kSsl)));
  EXPECT_FALSE(GreetingOffersTls(Greeting(0xF7FF & ~kSsl)));  // a MITM cleared CLIENT_SSL
  EXPECT_FALSE(GreetingOffersTls(""));
  std::string protocol9 = Greeting(0xFFFF);
  protocol9[0] = 9;
  EXPECT_FALSE(GreetingOffersTls(protocol9));
  EXPECT_FALSE(GreetingOffersTls(Greeting(0xFFFF).substr(0, 20)));  // cut short
  EXPECT_FALSE(
      GreetingOffersTls(std::string("\x0a"
                                    "no-nul-terminator",
                                    18)));

  EXPECT_TRUE(IsSslRequest(ClientPacket(kSsl | kProtocol41 | 0x000F, 32)));
  EXPECT_FALSE(IsSslRequest(ClientPacket(kProtocol41 | 0x000F, 32)));  // TLS not asked for
  EXPECT_FALSE(IsSslRequest(ClientPacket(kSsl | kProtocol41, 64)));    // a login, with a user
  EXPECT_FALSE(IsSslRequest(ClientPacket(kSsl, 32)));                  // pre-4.1 shape
  EXPECT_FALSE(IsSslRequest(""));

  EXPECT_TRUE(IsErrorPacket("\xFF\x10\x04Too many connections"));
  EXPECT_FALSE(IsErrorPacket(Greeting(0xFFFF)));
}

}  // namespace
}  // namespace secret_rotator::strategies::mysql
