#include "strategies/mysql_session.h"

#include <mysql.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <system_error>
#include <utility>

#include "base/ca_bundle.h"
#include "strategies/mysql_tls_gate.h"

// MariaDB Connector/C (libmariadb, also behind Debian's libmysqlclient
// compatibility package) and Oracle's libmysqlclient spell the TLS options
// differently; everything else used here is common to both.
#if defined(MARIADB_PACKAGE_VERSION_ID) || defined(MARIADB_BASE_VERSION)
#define SECRET_ROTATOR_MARIADB_CONNECTOR 1
#else
#define SECRET_ROTATOR_MARIADB_CONNECTOR 0
#if !defined(MYSQL_VERSION_ID) || MYSQL_VERSION_ID < 50711
#error "libmysqlclient 5.7.11 or later is needed (MYSQL_OPT_SSL_MODE)"
#endif
#endif

namespace secret_rotator::strategies::mysql {

namespace {

struct MysqlCloser {
  void operator()(MYSQL* mysql) const noexcept { mysql_close(mysql); }
};
using MysqlHandle = std::unique_ptr<MYSQL, MysqlCloser>;

struct MysqlResultFreer {
  void operator()(MYSQL_RES* result) const noexcept { mysql_free_result(result); }
};
using MysqlResult = std::unique_ptr<MYSQL_RES, MysqlResultFreer>;

// Error numbers, by the server or the client library that sends them.
constexpr unsigned int kErAccessDenied = 1045;
constexpr unsigned int kErHostNotPrivileged = 1130;       // no account for this client host
constexpr unsigned int kErNotSupportedAuthMode = 1251;    // auth protocol too new for the client
constexpr unsigned int kErAccessDeniedNoPassword = 1698;  // e.g. unix_socket accounts
constexpr unsigned int kErMustChangePasswordLogin = 1862;
constexpr unsigned int kErMysqlAccountLocked = 3118;
constexpr unsigned int kErMariadbAccountLocked = 4151;
constexpr unsigned int kErParseError = 1064;
constexpr unsigned int kErSyntaxError = 1149;
constexpr unsigned int kErTooManyConnections = 1040;
constexpr unsigned int kErHostIsBlocked = 1129;
constexpr unsigned int kCrMinError = 2000;  // client library errors: 2000-2999
constexpr unsigned int kCrMaxError = 2999;
constexpr unsigned int kCrSslConnectionError = 2026;
constexpr unsigned int kCrAuthPluginCannotLoad = 2059;
constexpr unsigned int kCrAuthPluginError = 2061;   // e.g. caching_sha2 without TLS or RSA key
constexpr unsigned int kCrPluginNotAllowed = 5010;  // not in MARIADB_OPT_RESTRICTED_AUTH

void InitLibraryOnce() {
  static std::once_flag once;
  // mysql_init() would do this too, but not thread-safely.
  std::call_once(once, [] { (void)mysql_library_init(0, nullptr, nullptr); });
}

bool HasNul(std::string_view text) { return text.find('\0') != std::string_view::npos; }

// Where the system's trusted CAs are, as the OpenSSL the client library uses
// sees them (SSL_CERT_FILE / SSL_CERT_DIR, else OpenSSL's built-in paths).
// An empty member means that location does not exist.
struct CaLocations {
  std::string file;
  std::string dir;
};

CaLocations SystemCaLocations() {
  // The bundle file every TLS client of the function uses (base/ca_bundle.h),
  // and OpenSSL's hashed folder when it exists (SSL_CERT_DIR, else built in).
  const char* from_env = std::getenv(X509_get_default_cert_dir_env());
  std::string dir =
      (from_env != nullptr && *from_env != '\0') ? from_env : X509_get_default_cert_dir();
  std::error_code error;
  if (!std::filesystem::is_directory(dir, error)) dir.clear();
  return {SystemCaBundle().value_or(""), dir};
}

std::string CaDescription(const StrategyConfig& config, const CaLocations& system) {
  if (!config.tls_ca_file.empty()) {
    return "the CA bundle " + config.tls_ca_file + " (" + config.tls_ca_source + ")";
  }
  std::string where = system.file.empty() ? system.dir : system.file;
  return "the system CA store (" + where + "; DB_TLS_CA_FILE is not set)";
}

constexpr char kNoTlsOfferedHints[] =
    ". No credential and no statement was sent without TLS. To change this: turn TLS on in the "
    "server (or remove what strips it on the way), or set DB_TLS_MODE=disable to connect "
    "without TLS";

constexpr char kTlsHints[] =
    ". No credential and no statement was sent without TLS. To change this: set DB_TLS_CA_FILE "
    "to a PEM bundle holding the CA that signed the server's certificate (for Amazon RDS, the "
    "global bundle); DB_TLS_MODE=verify-ca skips the host-name check and DB_TLS_MODE=require "
    "skips certificate verification; DB_TLS_MODE=disable connects without TLS";

Status TlsError(const std::string& target, const std::string& what, const char* hints = kTlsHints) {
  return Status(StatusCode::kFailedPrecondition, db_error::kTls, target + ": " + what + hints);
}

// The authentication plugins a login may use. Clear-text ones hand the
// password to whoever is at the other end, so they are left out unless the
// operator allowed them, and never over a plaintext connection.
std::string AllowedAuthPlugins(const StrategyConfig& config, TlsMode mode) {
  std::string plugins =
      "mysql_native_password,caching_sha2_password,sha256_password,client_ed25519";
  if (config.allow_cleartext_auth && mode != TlsMode::kDisable) {
    plugins += ",mysql_clear_password,dialog";
  }
  return plugins;
}

// Modes whose certificate check does not include the host name: the client
// library would then log in in plaintext if the server did not offer TLS,
// so these go through the TLS gate.
bool NeedsTlsGate(TlsMode mode) {
  return SECRET_ROTATOR_MARIADB_CONNECTOR &&
         (mode == TlsMode::kRequire || mode == TlsMode::kVerifyCa);
}

// Sets one option; a library that does not know it must not be ignored, or
// TLS could silently be off.
bool SetOption(MYSQL* mysql, enum mysql_option option, const void* value) {
  return mysql_options(mysql, option, value) == 0;
}

Status ConfigureTls(MYSQL* mysql, TlsMode mode, const StrategyConfig& config,
                    const CaLocations& system, const std::string& target) {
  const bool verify_chain = mode == TlsMode::kVerifyFull || mode == TlsMode::kVerifyCa;
  std::string ca_file;
  std::string ca_dir;
  if (verify_chain) {
    if (!config.tls_ca_file.empty()) {
      std::error_code error;
      if (!std::filesystem::is_regular_file(config.tls_ca_file, error)) {
        return TlsError(target, config.tls_ca_file + " (" + config.tls_ca_source + ")" +
                                    " is not a readable file, so the server's certificate "
                                    "cannot be verified");
      }
      ca_file = config.tls_ca_file;
    } else {
      if (system.file.empty() && system.dir.empty()) {
        return TlsError(target,
                        "no system CA store was found, so the server's certificate cannot be "
                        "verified");
      }
      ca_file = system.file;
      ca_dir = system.dir;
    }
  }
  bool ok = true;
#if SECRET_ROTATOR_MARIADB_CONNECTOR
  // Connector/C 3.x: SSL_ENFORCE makes TLS mandatory (no fallback);
  // VERIFY_SERVER_CERT checks the chain and the host name; a CA file or path
  // alone makes it check the chain only (verify-ca). Newer versions verify by
  // default, so "off" is set explicitly too.
  const my_bool enforce = mode == TlsMode::kDisable ? 0 : 1;
  const my_bool verify_host = mode == TlsMode::kVerifyFull ? 1 : 0;
  ok = SetOption(mysql, MYSQL_OPT_SSL_ENFORCE, &enforce) &&
       SetOption(mysql, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &verify_host);
#else
  unsigned int ssl_mode = SSL_MODE_REQUIRED;
  switch (mode) {
    case TlsMode::kVerifyFull:
      ssl_mode = SSL_MODE_VERIFY_IDENTITY;
      break;
    case TlsMode::kVerifyCa:
      ssl_mode = SSL_MODE_VERIFY_CA;
      break;
    case TlsMode::kRequire:
      ssl_mode = SSL_MODE_REQUIRED;
      break;
    case TlsMode::kDisable:
      ssl_mode = SSL_MODE_DISABLED;
      break;
  }
  ok = SetOption(mysql, MYSQL_OPT_SSL_MODE, &ssl_mode);
#endif
  if (ok && !ca_file.empty()) ok = SetOption(mysql, MYSQL_OPT_SSL_CA, ca_file.c_str());
  if (ok && !ca_dir.empty()) ok = SetOption(mysql, MYSQL_OPT_SSL_CAPATH, ca_dir.c_str());
  if (!ok) {
    return TlsError(target, "the MySQL client library rejected a TLS option: " +
                                std::string(mysql_error(mysql)));
  }
  return Status::Ok();
}

bool IsLoginError(unsigned int number) {
  switch (number) {
    case kErAccessDenied:
    case kErHostNotPrivileged:
    case kErNotSupportedAuthMode:
    case kErAccessDeniedNoPassword:
    case kErMustChangePasswordLogin:
    case kErMysqlAccountLocked:
    case kErMariadbAccountLocked:
    case kCrAuthPluginCannotLoad:
    case kCrAuthPluginError:
      return true;
    default:
      return false;
  }
}

bool MentionsTls(std::string_view text) {
  return text.find("SSL") != std::string_view::npos || text.find("TLS") != std::string_view::npos ||
         text.find("certificate") != std::string_view::npos;
}

// "Can't connect to server on 'h' (111)": the library's message ends in an
// errno value, which says little to an operator; this says what it means.
std::string ExplainConnectErrno(std::string_view text, const DbCredentials& credentials) {
  const std::size_t open = text.rfind('(');
  if (open == std::string_view::npos || !text.ends_with(')')) return "";
  int number = 0;
  const std::string_view digits = text.substr(open + 1, text.size() - open - 2);
  const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), number);
  if (error != std::errc() || end != digits.data() + digits.size()) return "";
  const std::string where = credentials.host + ":" + std::to_string(credentials.port);
  switch (number) {
    case ECONNREFUSED:
      return "; the connection was refused: nothing listens on " + where +
             " (is the server running, and is the port right?)";
    case ETIMEDOUT:
    case EINPROGRESS:
      return "; " + where +
             " did not answer in time (the host may be down, or a firewall or security group "
             "drops the packets)";
    case EHOSTUNREACH:
    case ENETUNREACH:
      return "; there is no route to " + where + " (check the VPC subnets and route tables)";
    default:
      return std::string("; ") + std::strerror(number);
  }
}

Status ConnectError(MYSQL* mysql, const DbCredentials& credentials, const ConnectionTls& tls,
                    const std::string& ca_text, const std::string& target, Deadline deadline) {
  const unsigned int number = mysql_errno(mysql);
  const std::string text = mysql_error(mysql);
  const std::string detail = text + " (error " + std::to_string(number) + ")";
  if (number == kCrPluginNotAllowed) {
    return TlsError(target,
                    "the server asked for an authentication plugin that sends the password "
                    "in clear text (mysql_clear_password or dialog), which is refused unless "
                    "DB_ALLOW_CLEARTEXT_AUTH=true (and never without TLS); no password was sent");
  }
  if (tls.mode != TlsMode::kDisable &&
      (number == kCrSslConnectionError || (number >= kCrMinError && MentionsTls(text)))) {
    std::string checked =
        tls.mode == TlsMode::kRequire ? "" : ", certificates checked against " + ca_text;
    std::string host_rule;
    if (tls.mode == TlsMode::kVerifyFull) {
      host_rule = " (verify-full also requires the certificate to name the host '" +
                  credentials.host + "')";
    }
    return TlsError(target, "TLS connection failed with " + tls.description + checked + host_rule +
                                ": " + detail);
  }
  if (IsLoginError(number)) {
    return Status(StatusCode::kPermissionDenied, db_error::kLoginFailed,
                  target + ": login failed: " + detail +
                      (number == kErAccessDenied
                           ? " (a wrong password, no account for this client's host, or an "
                             "account that requires a client certificate (REQUIRE X509, "
                             "ISSUER or SUBJECT), which this function does not present)"
                           : ""));
  }
  if (deadline.Expired()) {
    return Status(StatusCode::kDeadlineExceeded, db_error::kTimeout,
                  target + ": the invocation's time ran out while connecting: " + detail);
  }
  if ((number >= kCrMinError && number <= kCrMaxError) || number == kErTooManyConnections ||
      number == kErHostIsBlocked) {
    return Status(StatusCode::kUnavailable, db_error::kConnection,
                  target + ": cannot connect: " + detail + ExplainConnectErrno(text, credentials));
  }
  return Status(StatusCode::kFailedPrecondition, db_error::kDatabase, target + ": " + detail);
}

bool ContainsPasswordFragment(std::string_view text, std::string_view password) {
  if (password.empty()) return false;
  const std::size_t window = std::min<std::size_t>(password.size(), 6);
  for (std::size_t i = 0; i + window <= password.size(); ++i) {
    if (text.find(password.substr(i, window)) != std::string_view::npos) return true;
  }
  return false;
}

}  // namespace

struct Session::Impl {
  Impl(MysqlHandle handle, Deadline bound, std::string name)
      : mysql(std::move(handle)), deadline(bound), target(std::move(name)) {}

  // Declared first, destroyed last: the connection closes through the gate.
  std::unique_ptr<TlsGate> gate;
  MysqlHandle mysql;
  Deadline deadline;
  std::string target;
  ConnectionTls tls;
  std::string server_info;
  std::optional<ServerVersion> version;
  unsigned int last_error_number = 0;

  unsigned long Escape(char* to, std::string_view from) {
#if SECRET_ROTATOR_MARIADB_CONNECTOR
    return mysql_real_escape_string(mysql.get(), to, from.data(), from.size());
#else
    // libmysqlclient 8 refuses mysql_real_escape_string under
    // NO_BACKSLASH_ESCAPES; the _quote variant handles it.
    return mysql_real_escape_string_quote(mysql.get(), to, from.data(), from.size(), '\'');
#endif
  }

  Status CheckDeadline(std::string_view what) const {
    if (!deadline.Expired()) return Status::Ok();
    return Status(StatusCode::kDeadlineExceeded, db_error::kTimeout,
                  target + ": the invocation's time ran out before " + std::string(what));
  }

  // The error of the statement that just failed. `server_text` says whether
  // the server's message may be shown.
  Status StatementError(std::string_view what, bool server_text) {
    last_error_number = mysql_errno(mysql.get());
    const std::string number = std::to_string(last_error_number);
    std::string detail;
    if (server_text) {
      detail = std::string(mysql_error(mysql.get())) + " (error " + number + ")";
    } else {
      detail = "the server refused the statement (error " + number + ", SQLSTATE " +
               mysql_sqlstate(mysql.get()) +
               "); its message is not shown because it could quote the password";
    }
    const std::string message = target + ": " + std::string(what) + ": " + detail;
    if (last_error_number >= kCrMinError && last_error_number <= kCrMaxError) {
      if (deadline.Expired())
        return Status(StatusCode::kDeadlineExceeded, db_error::kTimeout, message);
      return Status(StatusCode::kUnavailable, db_error::kConnection, message);
    }
    return Status(StatusCode::kFailedPrecondition, db_error::kDatabase, message);
  }

  // Runs one statement; false on failure (then StatementError describes it).
  bool Run(std::string_view sql) {
    last_error_number = 0;
    return mysql_real_query(mysql.get(), sql.data(), sql.size()) == 0;
  }
};

Session::Session(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Session::Session(Session&& other) noexcept = default;
Session& Session::operator=(Session&& other) noexcept = default;
Session::~Session() = default;

Result<Session> Session::Connect(const DbCredentials& credentials, const StrategyConfig& config,
                                 Deadline deadline, std::string_view who) {
  const std::string target = std::string(who) + " (" + Describe(credentials) + ")";
  auto invalid = [&](const std::string& why) {
    return Status(StatusCode::kInvalidArgument, db_error::kInvalidSecret, target + ": " + why);
  };
  if (credentials.username.empty() || HasNul(credentials.username)) {
    return invalid("the user name is empty or holds a NUL character");
  }
  if (HasNul(credentials.password.reveal())) {
    return invalid("the password holds a NUL character, which MySQL cannot take");
  }
  if (credentials.host.empty() || HasNul(credentials.host) ||
      (credentials.dbname && HasNul(*credentials.dbname))) {
    return invalid("the host is empty, or the host or dbname holds a NUL character");
  }
  if (credentials.port <= 0 || credentials.port > 65535) {
    return invalid("port " + std::to_string(credentials.port) + " is out of range");
  }
  if (deadline.Expired()) {
    return Status(StatusCode::kDeadlineExceeded, db_error::kTimeout,
                  target + ": the invocation's time ran out before connecting");
  }

  InitLibraryOnce();
  auto impl = std::make_unique<Impl>(MysqlHandle(mysql_init(nullptr)), deadline, target);
  MYSQL* mysql = impl->mysql.get();
  if (mysql == nullptr) {
    return Status(StatusCode::kInternal, db_error::kInternal, target + ": mysql_init failed");
  }
  impl->tls = ResolveConnectionTls(config, credentials.ssl);
  const TlsMode mode = impl->tls.mode;

  // TCP to the server, or, for the modes that need it, the TLS gate's Unix
  // socket (the gate holds the TCP connection). Never the server's own Unix
  // socket, which the library would pick for host "localhost".
  std::string host = credentials.host;
  std::string unix_socket;
  unsigned int port = static_cast<unsigned int>(credentials.port);
  unsigned int protocol = MYSQL_PROTOCOL_TCP;
  if (NeedsTlsGate(mode)) {
    Result<std::unique_ptr<TlsGate>> gate =
        TlsGate::Open(credentials.host, credentials.port, deadline, target);
    if (!gate.ok()) return gate.status();
    impl->gate = std::move(gate).value();
    host = "localhost";
    unix_socket = impl->gate->socket_path();
    port = 0;
    protocol = MYSQL_PROTOCOL_SOCKET;
  }

  // utf8mb4 before any escaping, so escaping matches the server.
  const unsigned int timeout = IoTimeoutSeconds(deadline.Remaining());
  bool ok = SetOption(mysql, MYSQL_OPT_PROTOCOL, &protocol) &&
            SetOption(mysql, MYSQL_SET_CHARSET_NAME, "utf8mb4") &&
            SetOption(mysql, MYSQL_OPT_CONNECT_TIMEOUT, &timeout) &&
            SetOption(mysql, MYSQL_OPT_READ_TIMEOUT, &timeout) &&
            SetOption(mysql, MYSQL_OPT_WRITE_TIMEOUT, &timeout) &&
            (config.mysql_plugin_dir.empty() ||
             SetOption(mysql, MYSQL_PLUGIN_DIR, config.mysql_plugin_dir.c_str()));
#if SECRET_ROTATOR_MARIADB_CONNECTOR
  const std::string plugins = AllowedAuthPlugins(config, mode);
  ok = ok && SetOption(mysql, MARIADB_OPT_RESTRICTED_AUTH, plugins.c_str());
#else
  // libmysqlclient never uses mysql_clear_password unless
  // MYSQL_ENABLE_CLEARTEXT_PLUGIN is set, and it is set only when allowed.
  const bool cleartext = config.allow_cleartext_auth && mode != TlsMode::kDisable;
  ok = ok && SetOption(mysql, MYSQL_ENABLE_CLEARTEXT_PLUGIN, &cleartext);
#endif
  if (!ok) {
    return Status(
        StatusCode::kInternal, db_error::kInternal,
        target + ": the MySQL client library rejected a connection option: " + mysql_error(mysql));
  }
  const CaLocations system = SystemCaLocations();
  if (Status tls = ConfigureTls(mysql, mode, config, system, target); !tls.ok()) return tls;

  // The library needs NUL-terminated strings; the copy is wiped at once.
  std::string password(credentials.password.reveal());
  const MYSQL* connected =
      mysql_real_connect(mysql, host.c_str(), credentials.username.c_str(), password.c_str(),
                         credentials.dbname ? credentials.dbname->c_str() : nullptr, port,
                         unix_socket.empty() ? nullptr : unix_socket.c_str(), 0);
  WipeString(password);
  if (connected == nullptr) {
    if (impl->gate) {
      if (std::string refused = impl->gate->refusal(); !refused.empty()) {
        return TlsError(target, "TLS is required (" + impl->tls.description + "), but " + refused,
                        kNoTlsOfferedHints);
      }
    }
    return ConnectError(mysql, credentials, impl->tls, CaDescription(config, system), target,
                        deadline);
  }
  if (mode != TlsMode::kDisable && mysql_get_ssl_cipher(mysql) == nullptr) {
    // The options and the gate forbid this; a library that ignored them
    // must not go unnoticed.
    return TlsError(target, "the connection is not encrypted although " + impl->tls.description +
                                " requires TLS");
  }
  impl->server_info = mysql_get_server_info(mysql);
  impl->version = ParseServerVersion(impl->server_info);
  return Session(std::move(impl));
}

const std::string& Session::server_info() const { return impl_->server_info; }

const std::optional<ServerVersion>& Session::version() const { return impl_->version; }

const ConnectionTls& Session::tls() const { return impl_->tls; }

std::string Session::cipher() const {
  const char* cipher = mysql_get_ssl_cipher(impl_->mysql.get());
  return cipher == nullptr ? std::string() : std::string(cipher);
}

Result<std::string> Session::Quote(std::string_view text) {
  std::string escaped(text.size() * 2 + 1, '\0');
  const unsigned long length = impl_->Escape(escaped.data(), text);
  if (length == static_cast<unsigned long>(-1)) {
    return Status(StatusCode::kInternal, db_error::kDatabase,
                  impl_->target + ": the client library could not escape a string literal");
  }
  escaped.resize(length);
  return "'" + escaped + "'";
}

Result<Secret> Session::QuoteSecret(const Secret& text) {
  const std::string_view plain = text.reveal();
  std::string escaped(plain.size() * 2 + 1, '\0');
  const unsigned long length = impl_->Escape(escaped.data(), plain);
  if (length == static_cast<unsigned long>(-1)) {
    WipeString(escaped);
    return Status(StatusCode::kInternal, db_error::kDatabase,
                  impl_->target + ": the client library could not escape the password");
  }
  std::string quoted;
  quoted.reserve(length + 2);
  quoted.push_back('\'');
  quoted.append(escaped.data(), length);
  quoted.push_back('\'');
  WipeString(escaped);
  Secret result(std::move(quoted));
  WipeString(quoted);  // a short string stays in the moved-from buffer
  return result;
}

Result<std::string> Session::QuoteAccount(const Account& account) {
  Result<std::string> user = Quote(account.user);
  if (!user.ok()) return user.status();
  Result<std::string> host = Quote(account.host);
  if (!host.ok()) return host.status();
  return *user + "@" + *host;
}

Status Session::Execute(std::string_view sql, std::string_view what) {
  if (Status in_time = impl_->CheckDeadline(what); !in_time.ok()) return in_time;
  if (!impl_->Run(sql)) return impl_->StatementError(what, true);
  MysqlResult discarded(mysql_store_result(impl_->mysql.get()));
  if (!discarded && mysql_field_count(impl_->mysql.get()) != 0) {
    return impl_->StatementError(what, true);
  }
  return Status::Ok();
}

Status Session::ExecuteSecret(const Secret& sql, std::string_view what, const Secret& password) {
  if (Status in_time = impl_->CheckDeadline(what); !in_time.ok()) return in_time;
  if (impl_->Run(sql.reveal())) {
    MysqlResult discarded(mysql_store_result(impl_->mysql.get()));
    return Status::Ok();
  }
  const unsigned int number = mysql_errno(impl_->mysql.get());
  const std::string_view text = mysql_error(impl_->mysql.get());
  // A syntax error quotes the statement from the point it failed ("near
  // '...'"), which could be inside the password.
  const bool may_quote = number == kErParseError || number == kErSyntaxError ||
                         text.find("near '") != std::string_view::npos ||
                         ContainsPasswordFragment(text, password.reveal());
  return impl_->StatementError(what, !may_quote);
}

Result<std::vector<Session::Row>> Session::Query(std::string_view sql, std::string_view what) {
  if (Status in_time = impl_->CheckDeadline(what); !in_time.ok()) return in_time;
  if (!impl_->Run(sql)) return impl_->StatementError(what, true);
  MYSQL* mysql = impl_->mysql.get();
  MysqlResult result(mysql_store_result(mysql));
  std::vector<Row> rows;
  if (!result) {
    if (mysql_field_count(mysql) != 0) return impl_->StatementError(what, true);
    return rows;
  }
  const unsigned int columns = mysql_num_fields(result.get());
  while (MYSQL_ROW row = mysql_fetch_row(result.get())) {
    const unsigned long* lengths = mysql_fetch_lengths(result.get());
    Row values;
    values.reserve(columns);
    for (unsigned int i = 0; i < columns; ++i) {
      if (row[i] == nullptr) {
        values.emplace_back(std::nullopt);
      } else {
        values.emplace_back(std::string(row[i], lengths[i]));
      }
    }
    rows.push_back(std::move(values));
  }
  if (mysql_errno(mysql) != 0) return impl_->StatementError(what, true);
  return rows;
}

unsigned int Session::last_error_number() const { return impl_->last_error_number; }

}  // namespace secret_rotator::strategies::mysql
