#include "strategies/strategy.h"

#include <string>

namespace secret_rotator::strategies {

std::string Describe(const DbCredentials& credentials) {
  return "user '" + credentials.username + "' at " + credentials.host + ":" +
         std::to_string(credentials.port);
}

std::string_view TlsModeName(TlsMode mode) {
  switch (mode) {
    case TlsMode::kVerifyFull:
      return "verify-full";
    case TlsMode::kVerifyCa:
      return "verify-ca";
    case TlsMode::kRequire:
      return "require";
    case TlsMode::kDisable:
      return "disable";
  }
  return "unknown";
}

ConnectionTls ResolveConnectionTls(const StrategyConfig& config, std::optional<bool> secret_ssl) {
  const std::string configured = "DB_TLS_MODE=" + std::string(TlsModeName(config.tls_mode));
  auto result = [](TlsMode mode, const std::string& why) {
    return ConnectionTls{mode, "TLS mode " + std::string(TlsModeName(mode)) + " (" + why + ")"};
  };
  if (!secret_ssl.has_value()) return result(config.tls_mode, configured);
  if (*secret_ssl) {
    if (config.tls_mode == TlsMode::kDisable) {
      return result(TlsMode::kVerifyFull, "the secret's \"ssl\" is true; " + configured);
    }
    return result(config.tls_mode, configured);
  }
  if (config.tls_mode == TlsMode::kDisable) return result(TlsMode::kDisable, configured);
  if (config.allow_secret_tls_downgrade) {
    return result(TlsMode::kDisable,
                  "the secret's \"ssl\" is false and DB_TLS_ALLOW_SECRET_DOWNGRADE=true");
  }
  return result(config.tls_mode, configured +
                                     "; the secret's \"ssl\": false does not lower it, since "
                                     "DB_TLS_ALLOW_SECRET_DOWNGRADE is not true");
}

bool IsCloneName(std::string_view username) {
  return username.size() > kCloneSuffix.size() && username.ends_with(kCloneSuffix);
}

std::string AlternateUsername(std::string_view username) {
  if (IsCloneName(username)) {
    return std::string(username.substr(0, username.size() - kCloneSuffix.size()));
  }
  return std::string(username) + std::string(kCloneSuffix);
}

Status CheckAdminIsNotRotated(std::string_view admin_username, std::string_view current_username) {
  const std::string alternate = AlternateUsername(current_username);
  if (admin_username != current_username && admin_username != alternate) return Status::Ok();
  return Status(StatusCode::kFailedPrecondition, db_error::kAccountMismatch,
                "the masterarn secret's user '" + std::string(admin_username) + "' is " +
                    (admin_username == current_username ? "the rotated user" : "its alternate") +
                    " ('" + std::string(current_username) + "' / '" + alternate +
                    "'): rotating would change the admin's own password or copy the admin; "
                    "name a separate admin user in masterarn. Nothing was changed");
}

Result<TargetAccountAction> DecideTargetAccount(const TargetAccountFacts& facts,
                                                std::string_view account_text) {
  const std::string account(account_text);
  if (!facts.exists) {
    if (IsCloneName(facts.target)) return TargetAccountAction::kCreate;
    return Status(StatusCode::kFailedPrecondition, db_error::kAccountNotManaged,
                  "account " + account + " does not exist: the AWSCURRENT user '" +
                      AlternateUsername(facts.target) +
                      "' is a clone, but its original is missing. Alternating users start "
                      "from the original user; nothing was changed");
  }
  if (facts.pending_logs_in || facts.previous_logs_in) return TargetAccountAction::kAdopt;
  return Status(
      StatusCode::kFailedPrecondition, db_error::kAccountNotManaged,
      "account " + account +
          " exists, but nothing shows that this rotation manages it: neither the AWSPENDING "
          "nor an AWSPREVIOUS password of that user logs in. It may belong to another "
          "application, so it was not changed. If it is a leftover of this secret's rotation, "
          "drop it (or give it the AWSPREVIOUS password); otherwise rename the secret's user");
}

Result<UserFacts> Strategy::InspectUser(const DbCredentials& /*current*/,
                                        std::string_view /*next_username*/, Deadline /*deadline*/) {
  return Status(StatusCode::kFailedPrecondition, db_error::kUnsupportedServer,
                "this engine cannot be checked");
}

Result<AdminFacts> Strategy::InspectAdmin(const DbCredentials& /*admin*/,
                                          std::string_view /*target_username*/,
                                          Deadline /*deadline*/) {
  return Status(StatusCode::kFailedPrecondition, db_error::kUnsupportedServer,
                "this engine cannot be checked");
}

}  // namespace secret_rotator::strategies
