#include "strategies/postgres_session.h"

#include <libpq-fe.h>
#include <openssl/crypto.h>
#include <poll.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <utility>

#include "base/ca_bundle.h"
#include "strategies/postgres_connection.h"

namespace secret_rotator::strategies::postgres {

void PgConnDeleter::operator()(pg_conn* conn) const { PQfinish(conn); }

namespace {

struct PgResultDeleter {
  void operator()(PGresult* result) const { PQclear(result); }
};
using PgResult = std::unique_ptr<PGresult, PgResultDeleter>;

// A string libpq allocated (PQescapeIdentifier and the like).
struct PqFree {
  void operator()(char* text) const { PQfreemem(text); }
};
using PqString = std::unique_ptr<char, PqFree>;

// A string libpq allocated that holds a password verifier, or SQL around one:
// overwritten before it is freed.
struct PqWipeAndFree {
  void operator()(char* text) const {
    OPENSSL_cleanse(text, std::strlen(text));
    PQfreemem(text);
  }
};
using WipedPqString = std::unique_ptr<char, PqWipeAndFree>;

// Wipes a std::string when the scope ends, however it ends.
class WipeOnExit {
 public:
  explicit WipeOnExit(std::string& text) : text_(text) {}
  WipeOnExit(const WipeOnExit&) = delete;
  WipeOnExit& operator=(const WipeOnExit&) = delete;
  ~WipeOnExit() { WipeString(text_); }

 private:
  std::string& text_;
};

// libpq prints server notices (e.g. "role is already a member") to stderr by
// default; they are expected here and not worth a log line.
void IgnoreNotice(void* /*arg*/, const char* /*message*/) {}

enum class WaitOutcome { kReady, kReadable, kTimeout, kError };

// Waits until `fd` is ready for `events` or `deadline` passes. kReadable
// means POLLIN was asked for together with POLLOUT and the socket is readable.
WaitOutcome WaitForSocket(int fd, short events, Deadline deadline) {
  if (fd < 0) {
    errno = EBADF;
    return WaitOutcome::kError;
  }
  while (true) {
    const long long remaining = deadline.Remaining().count();
    const int timeout_ms = remaining > INT_MAX ? INT_MAX : static_cast<int>(remaining);
    pollfd entry{fd, events, 0};
    const int ready = poll(&entry, 1, timeout_ms);
    if (ready > 0) {
      if ((events & POLLOUT) != 0 && (events & POLLIN) != 0 && (entry.revents & POLLIN) != 0) {
        return WaitOutcome::kReadable;
      }
      return WaitOutcome::kReady;  // POLLERR/POLLHUP too: libpq reports those itself
    }
    if (ready == 0) return WaitOutcome::kTimeout;
    if (errno != EINTR) return WaitOutcome::kError;
  }
}

// How far a connection attempt has got, from libpq's state.
ConnectStage StageOf(ConnStatusType status) {
  switch (status) {
    case CONNECTION_SSL_STARTUP:
    case CONNECTION_GSS_STARTUP:
      return ConnectStage::kTls;
    case CONNECTION_AWAITING_RESPONSE:
    case CONNECTION_AUTH_OK:
    case CONNECTION_SETENV:
    case CONNECTION_CHECK_WRITABLE:
    case CONNECTION_CONSUME:
    case CONNECTION_CHECK_TARGET:
    case CONNECTION_CHECK_STANDBY:
    case CONNECTION_OK:
      return ConnectStage::kLogin;
    default:
      return ConnectStage::kTransport;
  }
}

std::string_view StageName(ConnectStage stage) {
  switch (stage) {
    case ConnectStage::kTransport:
      return "the TCP connection";
    case ConnectStage::kTls:
      return "the TLS handshake";
    case ConnectStage::kLogin:
      return "the login";
  }
  return "the connection";
}

std::string TrimmedMessage(const char* message) {
  std::string text = message == nullptr ? "" : message;
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

// The Status for a failed statement: the server's primary message and
// SQLSTATE only. With PQERRORS_TERSE libpq adds no "LINE 1: <statement>"
// either, but the primary field is what is used here, so the statement's text
// (which may hold a password verifier) cannot reach a message.
Status StatementFailure(const PGresult* result, std::string_view what, const std::string& who) {
  const char* sqlstate = PQresultErrorField(result, PG_DIAG_SQLSTATE);
  const char* primary = PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY);
  std::string message = std::string(what) + " as " + who + " failed: ";
  message +=
      primary != nullptr ? TrimmedMessage(primary) : TrimmedMessage(PQresultErrorMessage(result));
  const std::string state = sqlstate == nullptr ? "" : sqlstate;
  if (!state.empty()) message += " (SQLSTATE " + state + ")";
  if (state == "57014") {
    return Status(StatusCode::kDeadlineExceeded, db_error::kTimeout, std::move(message));
  }
  if (state == "42501") {
    return Status(StatusCode::kPermissionDenied, db_error::kDatabase, std::move(message));
  }
  if (state.empty() || state.starts_with("08")) {
    return Status(StatusCode::kUnavailable, db_error::kConnection, std::move(message));
  }
  return Status(StatusCode::kFailedPrecondition, db_error::kDatabase, std::move(message));
}

}  // namespace

Result<PostgresSession> PostgresSession::Connect(const DbCredentials& credentials,
                                                 const StrategyConfig& config, Deadline deadline) {
  std::string who = Describe(credentials);
  Result<ConnectionParameters> parameters =
      // libpq 15 has no sslrootcert=system (PostgreSQL 16 has), so the
      // system store goes in as its bundle file.
      BuildConnectionParameters(credentials, config, deadline.Remaining(), SystemCaBundle());
  if (!parameters.ok()) return parameters.status();
  const Deadline connect_deadline = Deadline::After(parameters->connect_time);

  std::vector<const char*> keywords;
  std::vector<const char*> values;
  for (const auto& [keyword, value] : parameters->keywords) {
    keywords.push_back(keyword.c_str());
    values.push_back(value.c_str());
  }
  // Secret keeps a std::string, so the view is NUL-terminated, and
  // BuildConnectionParameters refused a password with a NUL inside. libpq
  // copies it and wipes its copy when the connection is freed.
  keywords.push_back("password");
  values.push_back(credentials.password.reveal().data());
  keywords.push_back(nullptr);
  values.push_back(nullptr);

  PgConn conn(PQconnectStartParams(keywords.data(), values.data(), /*expand_dbname=*/0));
  if (!conn) {
    return Status(StatusCode::kInternal, db_error::kInternal,
                  "libpq could not allocate a connection");
  }
  // Asynchronous connection: libpq's connect_timeout counts whole seconds
  // (at least 2) per address, so the attempt is bounded here instead.
  ConnectStage stage = ConnectStage::kTransport;
  PostgresPollingStatusType polling =
      PQstatus(conn.get()) == CONNECTION_BAD ? PGRES_POLLING_FAILED : PGRES_POLLING_WRITING;
  while (polling != PGRES_POLLING_OK) {
    if (polling == PGRES_POLLING_FAILED) {
      return ConnectFailure(stage, PQerrorMessage(conn.get()), who, *parameters);
    }
    const short events = polling == PGRES_POLLING_READING ? POLLIN : POLLOUT;
    const WaitOutcome waited = WaitForSocket(PQsocket(conn.get()), events, connect_deadline);
    if (waited == WaitOutcome::kTimeout) {
      return Status(StatusCode::kDeadlineExceeded, db_error::kTimeout,
                    "connecting as " + who + " did not finish within " +
                        std::to_string(parameters->connect_time.count()) + " ms (it was at " +
                        std::string(StageName(stage)) + ")");
    }
    if (waited == WaitOutcome::kError) {
      return ConnectFailure(ConnectStage::kTransport,
                            std::string("waiting for the socket failed: ") + std::strerror(errno),
                            who, *parameters);
    }
    polling = PQconnectPoll(conn.get());
    if (polling != PGRES_POLLING_FAILED) stage = StageOf(PQstatus(conn.get()));
  }

  PQsetNoticeProcessor(conn.get(), IgnoreNotice, nullptr);
  PQsetErrorVerbosity(conn.get(), PQERRORS_TERSE);
  PQsetErrorContextVisibility(conn.get(), PQSHOW_CONTEXT_NEVER);
  if (PQsetnonblocking(conn.get(), 1) != 0) {
    return Status(StatusCode::kInternal, db_error::kInternal,
                  "could not make the connection for " + who + " non-blocking");
  }
  return PostgresSession(std::move(conn), std::move(who));
}

Status PostgresSession::Closed() const {
  return Status(StatusCode::kUnavailable, db_error::kConnection,
                "the connection for " + who_ + " is closed after an earlier failure");
}

Status PostgresSession::Wait(bool for_write, Deadline deadline, std::string_view what) {
  // While sending, the server may answer first; libpq must read that.
  const short events = for_write ? static_cast<short>(POLLOUT | POLLIN) : POLLIN;
  const WaitOutcome waited = WaitForSocket(PQsocket(conn_.get()), events, deadline);
  if (waited == WaitOutcome::kTimeout) {
    conn_.reset();  // the server's statement_timeout ends the statement
    return Status(StatusCode::kDeadlineExceeded, db_error::kTimeout,
                  std::string(what) + " as " + who_ + " did not finish in time");
  }
  if (waited == WaitOutcome::kError) {
    conn_.reset();
    return Status(StatusCode::kUnavailable, db_error::kConnection,
                  std::string(what) + " as " + who_ + ": the connection failed");
  }
  if (waited == WaitOutcome::kReadable && PQconsumeInput(conn_.get()) == 0) {
    Status failed(
        StatusCode::kUnavailable, db_error::kConnection,
        std::string(what) + " as " + who_ + ": " + TrimmedMessage(PQerrorMessage(conn_.get())));
    conn_.reset();
    return failed;
  }
  return Status::Ok();
}

Result<std::optional<std::string>> PostgresSession::Query(
    const std::string& sql, const std::vector<std::string>& parameters, std::string_view what,
    Deadline deadline) {
  if (!conn_) return Closed();
  PGconn* conn = conn_.get();
  std::vector<const char*> values;
  values.reserve(parameters.size());
  for (const std::string& parameter : parameters) values.push_back(parameter.c_str());

  if (PQsendQueryParams(conn, sql.c_str(), static_cast<int>(values.size()), nullptr, values.data(),
                        nullptr, nullptr, 0) == 0) {
    Status failed(StatusCode::kUnavailable, db_error::kConnection,
                  std::string(what) + " as " + who_ + ": " + TrimmedMessage(PQerrorMessage(conn)));
    conn_.reset();
    return failed;
  }
  for (int flushed = PQflush(conn); flushed != 0; flushed = PQflush(conn)) {
    if (flushed < 0) {
      Status failed(
          StatusCode::kUnavailable, db_error::kConnection,
          std::string(what) + " as " + who_ + ": " + TrimmedMessage(PQerrorMessage(conn)));
      conn_.reset();
      return failed;
    }
    if (Status waited = Wait(/*for_write=*/true, deadline, what); !waited.ok()) return waited;
  }

  // Read every result (one statement gives one); keep the first.
  PgResult first;
  while (true) {
    while (PQisBusy(conn) != 0) {
      if (Status waited = Wait(/*for_write=*/false, deadline, what); !waited.ok()) return waited;
      if (PQconsumeInput(conn) == 0) {
        Status failed(
            StatusCode::kUnavailable, db_error::kConnection,
            std::string(what) + " as " + who_ + ": " + TrimmedMessage(PQerrorMessage(conn)));
        conn_.reset();
        return failed;
      }
    }
    PgResult next(PQgetResult(conn));
    if (!next) break;
    if (!first) first = std::move(next);
  }
  if (!first) {
    return Status(StatusCode::kInternal, db_error::kDatabase,
                  std::string(what) + " as " + who_ + " returned no result");
  }
  const ExecStatusType status = PQresultStatus(first.get());
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    Status failed = StatementFailure(first.get(), what, who_);
    if (PQstatus(conn) == CONNECTION_BAD) conn_.reset();
    return failed;
  }
  if (status == PGRES_TUPLES_OK && PQntuples(first.get()) > 0 && PQnfields(first.get()) > 0 &&
      PQgetisnull(first.get(), 0, 0) == 0) {
    return std::optional<std::string>(PQgetvalue(first.get(), 0, 0));
  }
  return std::optional<std::string>();
}

Status PostgresSession::Execute(const std::string& sql, std::string_view what, Deadline deadline) {
  Result<std::optional<std::string>> result = Query(sql, {}, what, deadline);
  return result.ok() ? Status::Ok() : result.status();
}

Result<std::string> PostgresSession::QuoteIdentifier(std::string_view name) {
  if (!conn_) return Closed();
  PqString quoted(PQescapeIdentifier(conn_.get(), name.data(), name.size()));
  if (!quoted) {
    return Status(StatusCode::kInvalidArgument, db_error::kInvalidSecret,
                  "cannot quote the name '" + std::string(name) +
                      "': " + TrimmedMessage(PQerrorMessage(conn_.get())));
  }
  return std::string(quoted.get());
}

Result<std::string> PostgresSession::QuoteLiteral(std::string_view text) {
  if (!conn_) return Closed();
  PqString quoted(PQescapeLiteral(conn_.get(), text.data(), text.size()));
  if (!quoted) {
    return Status(StatusCode::kInvalidArgument, db_error::kInvalidSecret,
                  "cannot quote a value: " + TrimmedMessage(PQerrorMessage(conn_.get())));
  }
  return std::string(quoted.get());
}

Result<std::string> PostgresSession::SetPassword(std::string_view role, const Secret& password,
                                                 std::string_view algorithm, Deadline deadline,
                                                 PasswordStatement statement) {
  if (!conn_) return Closed();
  const std::string what = "setting the password of role \"" + std::string(role) + "\"";
  if (password.empty() || password.reveal().find('\0') != std::string_view::npos) {
    return Status(StatusCode::kInvalidArgument, db_error::kInvalidSecret,
                  what + ": the new password is empty or holds a NUL character");
  }
  Result<std::string> identifier = QuoteIdentifier(role);
  if (!identifier.ok()) return identifier.status();

  // Follow the server's password_encryption unless PASSWORD_ENCRYPTION says
  // otherwise. Asked here, within the deadline, rather than by
  // PQencryptPasswordConn's own blocking query.
  std::string method(algorithm);
  if (method.empty()) {
    Result<std::optional<std::string>> shown =
        Query("SHOW password_encryption", {}, "reading password_encryption", deadline);
    if (!shown.ok()) return shown.status();
    method = shown->value_or("scram-sha-256");
  }

  const std::string user(role);
  // reveal() views a std::string, so it is NUL-terminated.
  WipedPqString verifier(
      PQencryptPasswordConn(conn_.get(), password.reveal().data(), user.c_str(), method.c_str()));
  if (!verifier) {
    return Status(StatusCode::kFailedPrecondition, db_error::kDatabase,
                  what + ": could not compute a " + method +
                      " verifier: " + TrimmedMessage(PQerrorMessage(conn_.get())));
  }
  WipedPqString literal(PQescapeLiteral(conn_.get(), verifier.get(), std::strlen(verifier.get())));
  if (!literal) {
    return Status(StatusCode::kInternal, db_error::kDatabase,
                  what + ": could not quote the verifier");
  }
  const bool create = statement == PasswordStatement::kCreateRole;
  const std::string_view before = create ? "CREATE ROLE " : "ALTER ROLE ";
  const std::string_view after = create ? " WITH LOGIN INHERIT PASSWORD " : " PASSWORD ";
  std::string sql;
  WipeOnExit wipe_sql(sql);
  // One allocation of the final size, so no reallocation leaves a copy behind.
  sql.reserve(before.size() + identifier->size() + after.size() + std::strlen(literal.get()));
  sql.append(before).append(*identifier).append(after).append(literal.get());
  if (Status done =
          Execute(sql, create ? "creating role \"" + std::string(role) + "\"" : what, deadline);
      !done.ok()) {
    return done;
  }
  return method;
}

bool PostgresSession::UsesTls() const { return conn_ && PQsslInUse(conn_.get()) != 0; }

std::string PostgresSession::TlsAttribute(const char* name) const {
  if (!UsesTls()) return "";
  const char* value = PQsslAttribute(conn_.get(), name);
  return value == nullptr ? std::string() : std::string(value);
}

bool PostgresSession::UsedPassword() const {
  return conn_ && PQconnectionUsedPassword(conn_.get()) != 0;
}

}  // namespace secret_rotator::strategies::postgres
