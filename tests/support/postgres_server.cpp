#include "tests/support/postgres_server.h"

#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <cstdlib>
#include <map>

#include "tests/support/process.h"

namespace secret_rotator::testing {
namespace {

struct PgClear {
  void operator()(PGresult* result) const { PQclear(result); }
};
using PgResult = std::unique_ptr<PGresult, PgClear>;

// Takes ownership of a libpq-allocated string.
std::string TakePqString(char* text) {
  if (text == nullptr) return "";
  std::string copy = text;
  PQfreemem(text);
  return copy;
}

}  // namespace

std::optional<PostgresServer> LoadPostgresServer(std::string* error) {
  const char* dir = std::getenv("SECRET_ROTATOR_POSTGRES_DIR");
  if (dir == nullptr || *dir == '\0') {
    *error =
        "SECRET_ROTATOR_POSTGRES_DIR is not set: run these tests through ctest (fixture "
        "servers.postgres.start) or start tests/servers/postgres.sh yourself";
    return std::nullopt;
  }
  const std::string path = std::string(dir) + "/server.env";
  std::optional<std::map<std::string, std::string>> read = ReadEnvFile(path);
  if (!read) {
    *error = "cannot read " + path + ": is the postgres fixture running?";
    return std::nullopt;
  }
  std::map<std::string, std::string>& values = *read;
  PostgresServer server{values["PG_HOST"],       std::atoi(values["PG_PORT"].c_str()),
                        values["PG_ADMIN_USER"], values["PG_ADMIN_PASSWORD"],
                        values["PG_CA"],         values["PG_OTHER_CA"],
                        values["PG_LOG"]};
  if (server.host.empty() || server.port == 0 || server.admin_user.empty() || server.ca.empty() ||
      server.log.empty()) {
    *error = path + " lacks PG_HOST, PG_PORT, PG_ADMIN_USER, PG_CA or PG_LOG";
    return std::nullopt;
  }
  return server;
}

std::string UniqueName(const std::string& prefix) { return prefix + "_" + RandomHex(8); }

std::vector<std::string> HostileRoleNames(const std::string& suffix) {
  return {
      "we'ird\"name" + suffix,
      "UPPER Case " + suffix,
      "spa ce; DROP ROLE x; --" + suffix,
      "\xC3\xBC\x6E\xC3\xAF\x63\xC3\xB8\x64\xC3\xA9_\xCF\x81\xCF\x8C\xCE\xBB\xCE\xBF\xCF\x82" +
          suffix,  // ünïcødé_ρόλος
      "back\\slash$$" + suffix,
  };
}

void PgConnection::Finish::operator()(pg_conn* conn) const { PQfinish(conn); }

PgConnection::PgConnection(const PostgresServer& server, const std::string& user,
                           const std::string& password, const std::string& sslmode) {
  const std::string port = std::to_string(server.port);
  const char* keywords[] = {"host",
                            "port",
                            "user",
                            "password",
                            "dbname",
                            "sslmode",
                            "sslrootcert",
                            "connect_timeout",
                            "gssencmode",
                            "client_encoding",
                            "application_name",
                            nullptr};
  const char* values[] = {server.host.c_str(), port.c_str(),    user.c_str(),      password.c_str(),
                          "postgres",          sslmode.c_str(), server.ca.c_str(), "5",
                          "disable",           "UTF8",          "rotator-test",    nullptr};
  conn_.reset(PQconnectdbParams(keywords, values, 0));
}

bool PgConnection::ok() const { return conn_ != nullptr && PQstatus(conn_.get()) == CONNECTION_OK; }

std::string PgConnection::error() const {
  return conn_ == nullptr ? "out of memory" : PQerrorMessage(conn_.get());
}

std::string PgConnection::Query(const std::string& sql,
                                const std::vector<std::string>& parameters) {
  if (!ok()) {
    ADD_FAILURE() << sql << ": not connected: " << error();
    return "";
  }
  std::vector<const char*> values;
  values.reserve(parameters.size());
  for (const std::string& parameter : parameters) values.push_back(parameter.c_str());
  PgResult result(PQexecParams(conn_.get(), sql.c_str(), static_cast<int>(values.size()), nullptr,
                               values.data(), nullptr, nullptr, 0));
  const ExecStatusType status = PQresultStatus(result.get());
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    ADD_FAILURE() << sql << ": " << PQresultErrorMessage(result.get());
    return "";
  }
  if (status == PGRES_TUPLES_OK && PQntuples(result.get()) > 0) {
    return PQgetvalue(result.get(), 0, 0);
  }
  return "";
}

std::string PgConnection::Identifier(const std::string& name) {
  return TakePqString(PQescapeIdentifier(conn_.get(), name.data(), name.size()));
}

void PgConnection::CreateRole(const std::string& name, const std::string& password) {
  const std::string verifier = TakePqString(
      PQencryptPasswordConn(conn_.get(), password.c_str(), name.c_str(), "scram-sha-256"));
  ASSERT_FALSE(verifier.empty()) << error();
  const std::string literal =
      TakePqString(PQescapeLiteral(conn_.get(), verifier.data(), verifier.size()));
  Query("CREATE ROLE " + Identifier(name) + " LOGIN PASSWORD " + literal);
}

std::string PgConnection::StoredVerifier(const std::string& role) {
  return Query("SELECT rolpassword FROM pg_authid WHERE rolname = $1", {role});
}

bool PgConnection::RoleExists(const std::string& role) {
  return Query("SELECT count(*) FROM pg_roles WHERE rolname = $1", {role}) == "1";
}

bool LogsIn(const PostgresServer& server, const std::string& user, const std::string& password) {
  return PgConnection(server, user, password).ok();
}

}  // namespace secret_rotator::testing
