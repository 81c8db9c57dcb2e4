#include "tests/support/mariadb_server.h"

#include <gtest/gtest.h>
#include <mysql.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <sstream>
#include <string_view>

#include "tests/support/process.h"

namespace secret_rotator::testing {
namespace {

struct MysqlCloser {
  void operator()(MYSQL* mysql) const { mysql_close(mysql); }
};
using MysqlHandle = std::unique_ptr<MYSQL, MysqlCloser>;

// Mandatory, verified TLS, or none at all, in each client library's terms.
void SetTransport(MYSQL* mysql, const MariaDbServer& server, Transport transport) {
#if defined(MARIADB_PACKAGE_VERSION_ID) || defined(MARIADB_BASE_VERSION)
  const my_bool on = transport == Transport::kTlsVerified ? 1 : 0;
  mysql_options(mysql, MYSQL_OPT_SSL_ENFORCE, &on);
  mysql_options(mysql, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &on);
#else
  const unsigned int mode =
      transport == Transport::kTlsVerified ? SSL_MODE_VERIFY_IDENTITY : SSL_MODE_DISABLED;
  mysql_options(mysql, MYSQL_OPT_SSL_MODE, &mode);
#endif
  if (transport == Transport::kTlsVerified) {
    mysql_options(mysql, MYSQL_OPT_SSL_CA, server.ca.c_str());
  }
}

// `sql` on the admin connection: its first column, or (a test failure) none.
std::vector<std::string> AdminColumn(MariaDbClient& admin, const std::string& sql) {
  std::optional<std::vector<std::string>> values = admin.Column(sql);
  if (!values) {
    ADD_FAILURE() << "admin query failed: " << admin.error() << "\n" << sql;
    return {};
  }
  return *values;
}

// The first column of the first row, or "" (a test failure when it failed).
std::string AdminValue(MariaDbClient& admin, const std::string& sql) {
  std::vector<std::string> values = AdminColumn(admin, sql);
  return values.empty() ? std::string() : values.front();
}

}  // namespace

std::optional<MariaDbServer> LoadMariaDbServer(std::string* why, bool* configured) {
  const char* dir = std::getenv("SECRET_ROTATOR_MARIADB_DIR");
  *configured = dir != nullptr;
  if (dir == nullptr) {
    *why = "SECRET_ROTATOR_MARIADB_DIR is not set (run through ctest, which starts the server)";
    return std::nullopt;
  }
  std::optional<std::map<std::string, std::string>> values =
      ReadEnvFile(std::string(dir) + "/server.env");
  if (!values) {
    *why = std::string(dir) + "/server.env is missing: is the MariaDB fixture running?";
    return std::nullopt;
  }
  MariaDbServer server;
  server.host = (*values)["MARIADB_HOST"];
  server.port = std::atoi((*values)["MARIADB_PORT"].c_str());
  server.admin_user = (*values)["MARIADB_ADMIN_USER"];
  server.admin_password = (*values)["MARIADB_ADMIN_PASSWORD"];
  server.ca = (*values)["MARIADB_CA"];
  server.other_ca = (*values)["MARIADB_OTHER_CA"];
  server.general_log = (*values)["MARIADB_GENERAL_LOG"];
  if (server.host.empty() || server.port == 0 || server.admin_user.empty()) {
    *why = std::string(dir) + "/server.env lacks MARIADB_HOST, MARIADB_PORT or MARIADB_ADMIN_USER";
    return std::nullopt;
  }
  return server;
}

struct MariaDbClient::Connection {
  MysqlHandle mysql;
};

MariaDbClient::MariaDbClient(const MariaDbServer& server, const std::string& user,
                             const std::string& password, Transport transport)
    : connection_(std::make_unique<Connection>()) {
  MysqlHandle mysql(mysql_init(nullptr));
  const unsigned int protocol = MYSQL_PROTOCOL_TCP;
  mysql_options(mysql.get(), MYSQL_OPT_PROTOCOL, &protocol);
  mysql_options(mysql.get(), MYSQL_SET_CHARSET_NAME, "utf8mb4");
  SetTransport(mysql.get(), server, transport);
  if (mysql_real_connect(mysql.get(), server.host.c_str(), user.c_str(), password.c_str(), nullptr,
                         static_cast<unsigned int>(server.port), nullptr, 0) == nullptr) {
    error_ = mysql_error(mysql.get());
    return;
  }
  connection_->mysql = std::move(mysql);
}

MariaDbClient::MariaDbClient(MariaDbClient&&) noexcept = default;
MariaDbClient& MariaDbClient::operator=(MariaDbClient&&) noexcept = default;
MariaDbClient::~MariaDbClient() = default;

bool MariaDbClient::connected() const { return connection_ && connection_->mysql; }

std::optional<std::vector<std::string>> MariaDbClient::Column(const std::string& sql) {
  if (!connected()) return std::nullopt;  // error_ holds the login's error
  MYSQL* mysql = connection_->mysql.get();
  if (mysql_real_query(mysql, sql.data(), sql.size()) != 0) {
    error_ = mysql_error(mysql);
    return std::nullopt;
  }
  std::vector<std::string> values;
  MYSQL_RES* result = mysql_store_result(mysql);
  if (result == nullptr) return values;
  while (MYSQL_ROW row = mysql_fetch_row(result)) {
    const unsigned long* lengths = mysql_fetch_lengths(result);
    values.emplace_back(row[0] == nullptr ? "" : std::string(row[0], lengths[0]));
  }
  mysql_free_result(result);
  return values;
}

bool MariaDbClient::Exec(const std::string& sql) { return Column(sql).has_value(); }

std::string MariaDbClient::Value(const std::string& sql) {
  std::optional<std::vector<std::string>> values = Column(sql);
  return values && !values->empty() ? values->front() : std::string();
}

std::string MariaDbClient::Quote(const std::string& text) const {
  std::string out(text.size() * 2 + 1, '\0');
  const unsigned long length =
      connected()
          ? mysql_real_escape_string(connection_->mysql.get(), out.data(), text.data(), text.size())
          : 0;
  out.resize(length);
  return "'" + out + "'";
}

std::string MariaDbClient::Account(const std::string& user, const std::string& host) const {
  return Quote(user) + "@" + Quote(host);
}

std::string QuoteIdentifier(const std::string& name) {
  std::string out = "`";
  for (char c : name) out += c == '`' ? std::string("``") : std::string(1, c);
  return out + "`";
}

std::string LoginError(const MariaDbServer& server, const std::string& user,
                       const std::string& password, Transport transport) {
  MariaDbClient client(server, user, password, transport);
  return client.connected() ? std::string() : client.error();
}

bool UserExists(MariaDbClient& admin, const std::string& user, const std::string& host) {
  return AdminValue(admin, "SELECT COUNT(*) FROM mysql.user WHERE User = " + admin.Quote(user) +
                               " AND Host = " + admin.Quote(host)) == "1";
}

std::string ShowCreateUser(MariaDbClient& admin, const std::string& user, const std::string& host) {
  return AdminValue(admin, "SHOW CREATE USER " + admin.Account(user, host));
}

std::vector<std::string> NormalizedGrants(MariaDbClient& admin, const std::string& user,
                                          const std::string& host) {
  std::vector<std::string> lines =
      AdminColumn(admin, "SHOW GRANTS FOR " + admin.Account(user, host));
  const std::string grantee = QuoteIdentifier(user) + "@" + QuoteIdentifier(host);
  constexpr std::string_view kHash = " IDENTIFIED BY PASSWORD '";
  for (std::string& line : lines) {
    for (std::size_t at = line.find(grantee); at != std::string::npos; at = line.find(grantee)) {
      line.replace(at, grantee.size(), "@@");
    }
    if (const std::size_t hash = line.find(kHash); hash != std::string::npos) {
      line.erase(hash, line.find('\'', hash + kHash.size()) + 1 - hash);
    }
  }
  std::sort(lines.begin(), lines.end());
  return lines;
}

std::vector<std::string> ConnectLines(const MariaDbServer& server, const std::string& user) {
  std::vector<std::string> found;
  std::istringstream log(ReadFile(server.general_log));
  for (std::string line; std::getline(log, line);) {
    if (line.find(" Connect\t") == std::string::npos) continue;
    if (line.find(" Connect\t" + user + "@") != std::string::npos ||
        line.find("'" + user + "'@") != std::string::npos) {
      found.push_back(line);
    }
  }
  return found;
}

std::string RandomSuffix() { return RandomHex(8); }

void MariaDbTest::SetUp() {
  std::string why;
  bool configured = false;
  std::optional<MariaDbServer> server = LoadMariaDbServer(&why, &configured);
  if (!server) {
    if (!configured) GTEST_SKIP() << why;
    FAIL() << why;
  }
  server_ = *server;
  admin_ = std::make_unique<MariaDbClient>(server_, server_.admin_user, server_.admin_password);
  ASSERT_TRUE(admin_->connected()) << "admin login failed: " << admin_->error();
  // The passwords a test sets as the admin stay out of the general log, which the leak scan
  // (tests/adversarial/leak_scan.py) reads: only the function's statements may be there.
  ASSERT_TRUE(admin_->Exec("SET SESSION sql_log_off = 1")) << admin_->error();
}

}  // namespace secret_rotator::testing
