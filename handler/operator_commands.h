// The operators' commands (bootstrap check, status, rotate): what they read,
// decide and change, through the same code as the rotation steps. Printing
// is the app's; these return reports that never hold a secret value.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aws/secrets_manager.h"
#include "base/deadline.h"
#include "base/json.h"
#include "base/status.h"
#include "handler/rotation_handler.h"
#include "strategies/registry.h"
#include "strategies/strategy.h"

namespace secret_rotator::handler {

// ----------------------------------------------------------------- decisions
// One rule each, the same for every engine.

// The version that carries AWSPENDING without being AWSCURRENT: a rotation
// that has not finished ("A previous rotation isn't complete"), if any.
std::optional<std::string> UnfinishedPendingVersion(const aws::SecretDescription& description);

// The reason the rotated user cannot set its own password (single user), or
// nullopt when it can: any account may set its own password, unless the
// server refuses writes and the user cannot override that.
std::optional<std::string> OwnPasswordBlocker(const strategies::UserFacts& user);

// The user's privileges that the admin cannot grant the alternate user
// (empty when it can grant them all).
std::vector<std::string> PrivilegesAdminCannotGrant(const strategies::UserFacts& user,
                                                    const strategies::AdminFacts& admin);

// Returns true iff the next user name fits the server's limit.
bool NextNameFits(const strategies::UserFacts& user);

// What a login with a version's password showed.
enum class LoginState {
  kLogsIn,
  kRefused,  // the server refused the password
  kUnknown,  // no answer: TLS, connection, timeout
};

// Whether status --repair may remove a stuck AWSPENDING label: only when
// the database does not hold the pending password (it is refused), or
// AWSCURRENT still logs in, so that removing it loses no working password.
struct RepairDecision {
  bool remove = false;
  std::string reason;
};
RepairDecision DecideRepair(LoginState pending, LoginState current);

// ------------------------------------------------------------------- reports

enum class CheckOutcome { kOk, kInfo, kFail };
// "ok", "info", "FAIL".
std::string_view CheckOutcomeName(CheckOutcome outcome);

struct CheckItem {
  std::string name;
  CheckOutcome outcome = CheckOutcome::kInfo;
  std::string detail;
  std::string error_type;  // with kFail, when an error caused it
};

struct CheckReport {
  std::string arn;
  // Machine-readable facts (serverVersion, tlsVersion, ...); no secret.
  JsonValue facts = JsonValue::object();
  std::vector<CheckItem> items;
  // Returns true iff no item failed.
  bool Ready() const;
};

struct VersionLabels {
  std::string version_id;
  std::vector<std::string> stages;
};

struct StatusReport {
  aws::SecretDescription description;
  std::vector<VersionLabels> versions;
  std::optional<std::string> unfinished_pending;
  // With --repair: what was done and what was not, and why.
  bool repair_asked = false;
  bool repair_refused = false;
  std::vector<std::string> done;
  std::vector<std::string> not_done;
};

struct RotateStep {
  std::string step;
  bool ok = false;
  std::string outcome;     // what was done, or the error's message
  std::string error_type;  // when it failed
};

struct RotateReport {
  std::string arn;
  std::string token;
  std::vector<RotateStep> steps;
  bool Succeeded() const;
};

class OperatorCommands {
 public:
  // `secrets`, `engines` and `handler` must outlive this object; `handler`
  // runs the steps of `rotate` and lends its configuration to `check`.
  OperatorCommands(aws::SecretsManager& secrets, const strategies::StrategyRegistry& engines,
                   RotationHandler& handler);

  // bootstrap check: reads, logs in, and changes nothing. An error only when
  // the secret cannot be described at all; every other problem is a failed
  // item of the report.
  Result<CheckReport> Check(const std::string& secret_id, Deadline deadline);

  // bootstrap status [--repair].
  Result<StatusReport> SecretStatus(const std::string& secret_id, bool repair, Deadline deadline);

  // bootstrap rotate: the four steps with a new token, in manual-rotation
  // mode (StepOptions). Refuses (RotationInProgress) while a version other
  // than AWSCURRENT is AWSPENDING. Stops at the first failed step.
  Result<RotateReport> Rotate(const std::string& secret_id, Deadline deadline,
                              const std::string& request_id);

 private:
  // Logs in with the password of `version` of the secret (read-only).
  LoginState TryLogin(const std::string& arn, const std::optional<std::string>& version_id,
                      const char* stage, Deadline deadline, std::string* detail);

  aws::SecretsManager& secrets_;
  const strategies::StrategyRegistry& engines_;
  RotationHandler& handler_;
};

// A new random version id in the UUID form Secrets Manager uses.
std::string NewClientRequestToken();

}  // namespace secret_rotator::handler
