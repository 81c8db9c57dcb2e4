#include "app/operator_cli.h"

#include <charconv>
#include <chrono>
#include <cmath>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "app/bootstrap_main.h"
#include "app/function.h"
#include "base/json.h"
#include "base/log.h"
#include "base/random.h"
#include "handler/operator_commands.h"

namespace secret_rotator::app {
namespace {

constexpr char kCheckUsage[] =
    R"usage(Usage: bootstrap check SECRET_ID [--json] [--timeout SECONDS]

Checks, changing nothing, that SECRET_ID can be rotated: reads its AWSCURRENT
version (and, for alternating users, the masterarn secret), logs in with TLS
exactly as the function would, and reports the server version, the TLS version
and cipher, the authentication plugin, whether the user can change its own
password (single user) or the admin can create users and grant the user's
privileges (alternating users), whether the alternate user exists and is this
function's, the user name length against the server's limit, and the secret's
rotation configuration (enabled, function, schedule, unfinished rotations).
Run it before `aws secretsmanager rotate-secret`.

Options:
  --json            print JSON instead of a table
  --timeout SECONDS time allowed (default 60, at most 900)
  --help            show this help

Exit status: 0 ready, 1 something would make rotation fail (or the check could
not run), 2 bad usage or configuration. Settings and credentials come from the
same environment as the function's (bootstrap --help).
)usage";

constexpr char kStatusUsage[] =
    R"usage(Usage: bootstrap status SECRET_ID [--repair] [--json] [--timeout SECONDS]

Shows the secret's versions and their staging labels, an unfinished rotation
(a version that is AWSPENDING but not AWSCURRENT), and the last rotation date.

  --repair          remove a stuck AWSPENDING label, but only when that is safe:
                    the database refuses the pending password, or AWSCURRENT
                    still logs in. Says what it did and did not do, and why.
  --json            print JSON instead of a table
  --timeout SECONDS time allowed (default 60, at most 900)
  --help            show this help

Exit status: 0 success, 1 a refused repair or an error, 2 bad usage or
configuration.
)usage";

constexpr char kRotateUsage[] =
    R"usage(Usage: bootstrap rotate SECRET_ID [--json] [--timeout SECONDS]

Rotates SECRET_ID from this machine, for break-glass use or a database the
Lambda function cannot reach: createSecret (a new version under a new
ClientRequestToken, labelled AWSPENDING), setSecret, testSecret and
finishSecret, through the same code and checks as the function. Rotation need
not be turned on for the secret. Refuses while a rotation is in progress (a
version that is AWSPENDING but not AWSCURRENT); stops at the first failed step.

  --json            print JSON instead of a table
  --timeout SECONDS time allowed for the whole rotation (default 120, at most 900)
  --help            show this help

Exit status: 0 rotated, 1 refused or a step failed, 2 bad usage or
configuration.
)usage";

enum class Command { kCheck, kStatus, kRotate };

struct Arguments {
  Command command = Command::kCheck;
  std::string secret_id;
  bool json = false;
  bool repair = false;
  bool help = false;
  int timeout_seconds = 60;
};

const char* UsageOf(Command command) {
  switch (command) {
    case Command::kCheck:
      return kCheckUsage;
    case Command::kStatus:
      return kStatusUsage;
    case Command::kRotate:
      return kRotateUsage;
  }
  return kCheckUsage;
}

Result<Arguments> Parse(int argc, char** argv) {
  Arguments arguments;
  const std::string_view name = argv[1];
  arguments.command = name == "check"    ? Command::kCheck
                      : name == "status" ? Command::kStatus
                                         : Command::kRotate;
  if (arguments.command == Command::kRotate) arguments.timeout_seconds = 120;
  auto usage_error = [](std::string message) {
    return Status(StatusCode::kInvalidArgument, "UsageError", std::move(message));
  };
  for (int i = 2; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      arguments.help = true;
    } else if (arg == "--json") {
      arguments.json = true;
    } else if (arg == "--repair" && arguments.command == Command::kStatus) {
      arguments.repair = true;
    } else if (arg == "--timeout") {
      int seconds = 0;
      const std::string_view text = i + 1 < argc ? std::string_view(argv[++i]) : "";
      if (text.empty() ||
          std::from_chars(text.data(), text.data() + text.size(), seconds).ec != std::errc() ||
          seconds < 1 || seconds > 900) {
        return usage_error("--timeout needs a whole number of seconds from 1 to 900");
      }
      arguments.timeout_seconds = seconds;
    } else if (arg.starts_with("-")) {
      return usage_error("unknown option '" + std::string(arg) + "'");
    } else if (arguments.secret_id.empty()) {
      arguments.secret_id = std::string(arg);
    } else {
      return usage_error("one SECRET_ID only; '" + std::string(arg) + "' is one too many");
    }
  }
  if (!arguments.help && arguments.secret_id.empty()) {
    return usage_error("SECRET_ID is missing (a secret's name or ARN)");
  }
  return arguments;
}

std::string DateText(const std::optional<double>& seconds) {
  if (!seconds) return "never";
  const auto when = std::chrono::system_clock::time_point(
      std::chrono::milliseconds(static_cast<long long>(std::llround(*seconds * 1000))));
  return Rfc3339Timestamp(when);
}

JsonValue DateJson(const std::optional<double>& seconds) {
  return seconds ? JsonValue(DateText(seconds)) : JsonValue(nullptr);
}

// Prints `rows` as columns separated by two spaces; the last column is not
// padded.
void PrintTable(const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> widths;
  for (const auto& row : rows) {
    for (std::size_t i = 0; i < row.size(); ++i) {
      if (widths.size() <= i) widths.push_back(0);
      widths[i] = std::max(widths[i], row[i].size());
    }
  }
  for (const auto& row : rows) {
    std::string line = " ";
    for (std::size_t i = 0; i < row.size(); ++i) {
      line += ' ';
      line += row[i];
      if (i + 1 < row.size()) line += std::string(widths[i] - row[i].size() + 1, ' ');
    }
    line.erase(line.find_last_not_of(' ') + 1);
    std::cout << line << '\n';
  }
}

int Fail(const Arguments& arguments, const Status& status) {
  if (arguments.json) {
    std::cout << WriteJson(JsonValue{
                     {"error", JsonValue{{"type", status.type()}, {"message", status.message()}}}})
              << '\n';
  }
  std::cerr << "bootstrap: " << status.type() << ": " << status.message() << '\n';
  return kExitFailure;
}

int PrintCheck(const Arguments& arguments, const handler::CheckReport& report) {
  if (arguments.json) {
    JsonValue checks = JsonValue::array();
    for (const handler::CheckItem& item : report.items) {
      JsonValue entry{{"name", item.name},
                      {"result", std::string(handler::CheckOutcomeName(item.outcome))},
                      {"detail", item.detail}};
      if (!item.error_type.empty()) entry["errorType"] = item.error_type;
      checks.push_back(std::move(entry));
    }
    std::cout << WriteJson(JsonValue{{"secretArn", report.arn},
                                     {"ready", report.Ready()},
                                     {"checks", std::move(checks)},
                                     {"facts", report.facts}})
              << '\n';
  } else {
    std::cout << "Secret " << report.arn << "\n\n";
    std::vector<std::vector<std::string>> rows = {{"RESULT", "CHECK", "DETAIL"}};
    for (const handler::CheckItem& item : report.items) {
      rows.push_back(
          {std::string(handler::CheckOutcomeName(item.outcome)), item.name,
           item.error_type.empty() ? item.detail : item.error_type + ": " + item.detail});
    }
    PrintTable(rows);
    std::cout << '\n'
              << (report.Ready() ? "Ready: nothing found that would make rotation fail.\n"
                                 : "Not ready: the checks marked FAIL would make rotation fail.\n");
  }
  return report.Ready() ? kExitOk : kExitFailure;
}

int PrintStatus(const Arguments& arguments, const handler::StatusReport& report) {
  const aws::SecretDescription& secret = report.description;
  if (arguments.json) {
    JsonValue versions = JsonValue::array();
    for (const handler::VersionLabels& version : report.versions) {
      versions.push_back(JsonValue{{"versionId", version.version_id}, {"stages", version.stages}});
    }
    JsonValue out{
        {"secretArn", secret.arn},
        {"name", secret.name},
        {"rotationEnabled", secret.rotation_enabled},
        {"rotationLambdaArn", secret.rotation_lambda_arn},
        {"rotationSchedule", secret.rotation_schedule},
        {"lastRotatedDate", DateJson(secret.last_rotated_date)},
        {"lastChangedDate", DateJson(secret.last_changed_date)},
        {"versions", std::move(versions)},
        {"unfinishedPendingVersion",
         report.unfinished_pending ? JsonValue(*report.unfinished_pending) : JsonValue(nullptr)}};
    if (report.repair_asked) {
      out["repair"] = JsonValue{
          {"refused", report.repair_refused}, {"done", report.done}, {"notDone", report.not_done}};
    }
    std::cout << WriteJson(out) << '\n';
  } else {
    std::vector<std::vector<std::string>> rows = {
        {"secret", secret.arn},
        {"rotation",
         std::string(secret.rotation_enabled ? "enabled" : "not enabled") +
             (secret.rotation_lambda_arn.empty() ? ""
                                                 : "; function " + secret.rotation_lambda_arn) +
             (secret.rotation_schedule.empty() ? "" : "; schedule " + secret.rotation_schedule)},
        {"last rotated", DateText(secret.last_rotated_date)},
        {"last changed", DateText(secret.last_changed_date)},
    };
    PrintTable(rows);
    std::cout << "\n";
    std::vector<std::vector<std::string>> versions = {{"VERSION", "LABELS", ""}};
    for (const handler::VersionLabels& version : report.versions) {
      std::string labels;
      for (const std::string& stage : version.stages) labels += (labels.empty() ? "" : ",") + stage;
      versions.push_back({version.version_id, labels,
                          report.unfinished_pending == version.version_id
                              ? "<- unfinished rotation (AWSPENDING without AWSCURRENT)"
                              : ""});
    }
    PrintTable(versions);
    std::cout << '\n';
    if (report.unfinished_pending) {
      std::cout << "Stuck: version " << *report.unfinished_pending
                << " is AWSPENDING but not AWSCURRENT; unless a rotation is running right now, "
                   "the previous rotation did not finish and the next one fails until it is "
                   "finished or the label is removed (--repair does that when it is safe).\n";
    } else {
      std::cout << "No unfinished rotation.\n";
    }
    if (report.repair_asked) {
      std::cout << "\nRepair:\n";
      for (const std::string& line : report.done) std::cout << "  done:     " << line << '\n';
      for (const std::string& line : report.not_done) std::cout << "  not done: " << line << '\n';
    }
  }
  return report.repair_refused ? kExitFailure : kExitOk;
}

int PrintRotate(const Arguments& arguments, const handler::RotateReport& report) {
  if (arguments.json) {
    JsonValue steps = JsonValue::array();
    for (const handler::RotateStep& step : report.steps) {
      JsonValue entry{{"step", step.step}, {"ok", step.ok}, {"outcome", step.outcome}};
      if (!step.error_type.empty()) entry["errorType"] = step.error_type;
      steps.push_back(std::move(entry));
    }
    std::cout << WriteJson(JsonValue{{"secretArn", report.arn},
                                     {"clientRequestToken", report.token},
                                     {"succeeded", report.Succeeded()},
                                     {"steps", std::move(steps)}})
              << '\n';
  } else {
    std::cout << "Secret " << report.arn << "\nVersion (ClientRequestToken) " << report.token
              << "\n\n";
    std::vector<std::vector<std::string>> rows = {{"STEP", "RESULT", "OUTCOME"}};
    for (const handler::RotateStep& step : report.steps) {
      rows.push_back(
          {step.step, step.ok ? "ok" : "FAIL",
           step.error_type.empty() ? step.outcome : step.error_type + ": " + step.outcome});
    }
    PrintTable(rows);
    std::cout << '\n'
              << (report.Succeeded()
                      ? "Rotated: AWSCURRENT is the new version.\n"
                      : "Not rotated: the failed step left version " + report.token +
                            " AWSPENDING; see bootstrap status (--repair) before retrying.\n");
  }
  return report.Succeeded() ? kExitOk : kExitFailure;
}

}  // namespace

bool IsOperatorCommand(std::string_view word) {
  return word == "check" || word == "status" || word == "rotate";
}

int RunOperatorCommand(int argc, char** argv, const strategies::StrategyRegistry& engines) {
  Result<Arguments> arguments = Parse(argc, argv);
  if (!arguments.ok()) {
    const Command command = std::string_view(argv[1]) == "check"    ? Command::kCheck
                            : std::string_view(argv[1]) == "status" ? Command::kStatus
                                                                    : Command::kRotate;
    std::cerr << "bootstrap " << argv[1] << ": " << arguments.status().message() << "\n\n"
              << UsageOf(command);
    return kExitUsage;
  }
  if (arguments->help) {
    std::cout << UsageOf(arguments->command);
    return kExitOk;
  }
  Result<LogConfig> log_config = LogConfigFromEnvironment();
  if (!log_config.ok()) {
    std::cerr << "bootstrap: " << log_config.status().message() << '\n';
    return kExitUsage;
  }
  ConfigureLogging(*log_config);
  Result<Function> function = Initialize(engines);
  if (!function.ok()) {
    std::cerr << "bootstrap: " << function.status().message() << '\n';
    return kExitUsage;
  }
  const Deadline deadline = Deadline::After(std::chrono::seconds(arguments->timeout_seconds));
  if (Status last = CheckCredentialsLast(function->credentials_expiration, deadline); !last.ok()) {
    std::cerr << "bootstrap: " << last.message() << " (--timeout " << arguments->timeout_seconds
              << " s); renew them, or pass a shorter --timeout\n";
    return kExitUsage;
  }
  handler::OperatorCommands commands(*function->secrets, engines, *function->handler);
  switch (arguments->command) {
    case Command::kCheck: {
      Result<handler::CheckReport> report = commands.Check(arguments->secret_id, deadline);
      if (!report.ok()) return Fail(*arguments, report.status());
      return PrintCheck(*arguments, *report);
    }
    case Command::kStatus: {
      Result<handler::StatusReport> report =
          commands.SecretStatus(arguments->secret_id, arguments->repair, deadline);
      if (!report.ok()) return Fail(*arguments, report.status());
      return PrintStatus(*arguments, *report);
    }
    case Command::kRotate: {
      Result<handler::RotateReport> report =
          commands.Rotate(arguments->secret_id, deadline, "manual-" + RandomHex(16));
      if (!report.ok()) return Fail(*arguments, report.status());
      return PrintRotate(*arguments, *report);
    }
  }
  return kExitUsage;
}

}  // namespace secret_rotator::app
