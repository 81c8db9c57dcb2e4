#include "app/bootstrap_main.h"

#include <charconv>
#include <chrono>
#include <fstream>
#include <iostream>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>

#include "app/config.h"
#include "app/function.h"
#include "app/operator_cli.h"
#include "aws/ca_trust.h"
#include "aws/config.h"
#include "aws/rds.h"
#include "aws/secrets_manager.h"
#include "base/env.h"
#include "base/log.h"
#include "base/random.h"
#include "handler/event.h"
#include "handler/rotation_handler.h"
#include "runtime/runtime.h"

#ifndef SECRET_ROTATOR_VERSION
#define SECRET_ROTATOR_VERSION "unknown"
#endif

namespace secret_rotator::app {
namespace {

constexpr char kUsage[] =
    R"usage(Usage: bootstrap [--event FILE|-] [--timeout SECONDS]
       bootstrap check SECRET_ID [--json]             is it ready to rotate? (changes nothing)
       bootstrap status SECRET_ID [--repair] [--json] versions, labels, a stuck rotation
       bootstrap rotate SECRET_ID [--json]            rotate now, from this machine
       bootstrap COMMAND --help | bootstrap --help | --version

Rotates database passwords kept in AWS Secrets Manager: an AWS Lambda function
for the provided.al2023 runtime, compatible with AWS's own rotation functions.

Without --event it serves the Lambda Runtime API named by AWS_LAMBDA_RUNTIME_API.

Options:
  --event FILE      run the rotation event in FILE (- for standard input) once,
                    print the JSON result, and exit: 0 success, 1 rotation
                    error, 2 bad usage or configuration
  --timeout SECONDS time allowed for --event (default 30, at most 900)
  --help            show this help
  --version         show the version

Environment:
  AWS_REGION / AWS_DEFAULT_REGION        region; if neither is set, the profile's
                                         region in the AWS config file
  AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN
                                         credentials (Lambda sets them); if unset,
                                         those of the profile:
  AWS_PROFILE                            the profile (default: default)
  AWS_SHARED_CREDENTIALS_FILE            its [NAME] section (default ~/.aws/credentials)
  AWS_CONFIG_FILE                        its [profile NAME] section (default ~/.aws/config)
                                         Either file may give aws_access_key_id,
                                         aws_secret_access_key (aws_session_token), or
                                         credential_process: a program run without a
                                         shell (at most 60 s) that prints JSON Version 1;
                                         its Expiration must outlast the run. For SSO and
                                         role profiles, export what the AWS CLI gets:
                                         eval "$(aws configure export-credentials \
                                                 --profile NAME --format env)"
  SECRETS_MANAGER_ENDPOINT, AWS_ENDPOINT_URL_SECRETS_MANAGER, AWS_ENDPOINT_URL
                                         Secrets Manager endpoint override
  RDS_ENDPOINT, AWS_ENDPOINT_URL_RDS     RDS endpoint override (RDS-managed master
                                         secrets, replica and cluster endpoints)
  AWS_CA_BUNDLE                          PEM file of the CAs trusted for Secrets Manager,
                                         instead of Amazon's roots (*.amazonaws.com) or the
                                         system's (SSL_CERT_FILE) for other endpoints
  HTTPS_PROXY / https_proxy, ALL_PROXY, NO_PROXY
                                         proxy for Secrets Manager, as curl reads them
  ROTATION_STRATEGY                      single-user (default) or alternating-users;
                                         a secret's "rotationStrategy" field wins
  PASSWORD_LENGTH (32), EXCLUDE_CHARACTERS (engine default), EXCLUDE_NUMBERS,
  EXCLUDE_PUNCTUATION, EXCLUDE_UPPERCASE, EXCLUDE_LOWERCASE,
  REQUIRE_EACH_INCLUDED_TYPE (true)      new password policy
  DB_TLS_MODE                            verify-full (default), verify-ca, require, disable:
                                         the floor; a secret's "ssl": true may raise it
  DB_TLS_ALLOW_SECRET_DOWNGRADE          true: a secret's "ssl": false turns TLS off
                                         (default false: it is ignored)
  DB_ALLOW_CLEARTEXT_AUTH                true: MySQL's mysql_clear_password and dialog
                                         plugins may be used, over TLS only (default false)
  DB_TLS_CA_FILE                         PEM bundle of trusted database CAs (default:
                                         db-ca-bundle.pem beside this binary, Amazon
                                         RDS's CAs in the package; else the system's)
  PASSWORD_ENCRYPTION                    PostgreSQL: scram-sha-256 or md5
  AWS_LAMBDA_LOG_LEVEL, AWS_LAMBDA_LOG_FORMAT (Text or JSON)
)usage";

struct CommandLine {
  bool help = false;
  bool version = false;
  std::optional<std::string> event_file;
  int timeout_seconds = 30;
};

Result<CommandLine> ParseCommandLine(int argc, char** argv) {
  CommandLine command;
  auto usage_error = [](std::string message) {
    return Status(StatusCode::kInvalidArgument, "UsageError", std::move(message));
  };
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    auto value = [&]() -> std::optional<std::string> {
      if (i + 1 >= argc) return std::nullopt;
      return std::string(argv[++i]);
    };
    if (arg == "--help" || arg == "-h") {
      command.help = true;
    } else if (arg == "--version") {
      command.version = true;
    } else if (arg == "--event") {
      command.event_file = value();
      if (!command.event_file) return usage_error("--event needs a file name, or - for stdin");
    } else if (arg == "--timeout") {
      const std::optional<std::string> text = value();
      int seconds = 0;
      if (!text ||
          std::from_chars(text->data(), text->data() + text->size(), seconds).ec != std::errc() ||
          seconds < 1 || seconds > 900) {
        return usage_error(
            "--timeout needs a whole number of seconds "
            "from 1 to 900");
      }
      command.timeout_seconds = seconds;
    } else {
      return usage_error("unknown argument '" + std::string(arg) + "'");
    }
  }
  return command;
}

Result<std::string> ReadEventFile(const std::string& path) {
  if (path == "-") {
    return std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  }
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    return Status(StatusCode::kInvalidArgument, "UsageError",
                  "cannot read event file '" + path + "'");
  }
  return std::string(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
}

std::string LocalRequestId() { return "local-" + RandomHex(16); }

runtime::Handler MakeHandler(const Function& function) {
  return [&function](const runtime::Invocation& invocation) {
    if (Status last = CheckCredentialsLast(function.credentials_expiration, invocation.deadline);
        !last.ok()) {
      return runtime::InvocationResponse::Failure(last.type(), last.message());
    }
    handler::RotationHandler& rotation = *function.handler;
    Result<std::string> result =
        rotation.HandlePayload(invocation.payload, invocation.deadline, invocation.request_id);
    if (result.ok()) return runtime::InvocationResponse::Success(std::move(result).value());
    return runtime::InvocationResponse::Failure(result.status().type(), result.status().message());
  };
}

int RunLocal(const CommandLine& command, const strategies::StrategyRegistry& engines) {
  Result<std::string> payload = ReadEventFile(*command.event_file);
  if (!payload.ok()) {
    std::cerr << "bootstrap: " << payload.status().message() << '\n';
    return kExitUsage;
  }
  Result<Function> function = Initialize(engines);
  if (!function.ok()) {
    std::cerr << "bootstrap: " << function.status().message() << '\n';
    return kExitUsage;
  }
  runtime::Invocation invocation;
  invocation.request_id = LocalRequestId();
  invocation.payload = std::move(payload).value();
  invocation.deadline = Deadline::After(std::chrono::seconds(command.timeout_seconds));
  if (Status last = CheckCredentialsLast(function->credentials_expiration, invocation.deadline);
      !last.ok()) {
    std::cerr << "bootstrap: " << last.message() << " (--timeout " << command.timeout_seconds
              << " s); renew them, or pass a shorter "
                 "--timeout\n";
    return kExitUsage;
  }
  return runtime::RunLocalInvocation(invocation, MakeHandler(*function), std::cout);
}

int RunLambda(const std::string& api_address, const strategies::StrategyRegistry& engines) {
  Result<std::unique_ptr<http::Client>> runtime_http =
      http::NewClient(runtime::RuntimeApiClientOptions());
  if (!runtime_http.ok()) {
    Log(LogLevel::kFatal, {}, "cannot start: " + runtime_http.status().message());
    return kExitFailure;
  }
  Result<Function> function = Initialize(engines);
  if (!function.ok()) {
    Log(LogLevel::kFatal, {}, "initialization failed: " + function.status().message());
    Status reported =
        runtime::ReportInitError(**runtime_http, api_address, "Runtime." + function.status().type(),
                                 function.status().message());
    if (!reported.ok()) {
      Log(LogLevel::kError, {}, "could not report the init error: " + reported.message());
    }
    return kExitFailure;
  }
  runtime::RuntimeOptions options;
  options.api_address = api_address;
  return runtime::RunRuntimeLoop(**runtime_http, options, MakeHandler(*function));
}

}  // namespace

int BootstrapMain(int argc, char** argv, const strategies::StrategyRegistry& engines) {
  if (argc > 1 && IsOperatorCommand(argv[1])) return RunOperatorCommand(argc, argv, engines);
  Result<CommandLine> command = ParseCommandLine(argc, argv);
  if (!command.ok()) {
    std::cerr << "bootstrap: " << command.status().message() << "\n\n" << kUsage;
    return kExitUsage;
  }
  if (command->help) {
    std::cout << kUsage;
    return kExitOk;
  }
  if (command->version) {
    std::cout << "secret-rotator " << SECRET_ROTATOR_VERSION << '\n';
    return kExitOk;
  }

  const std::optional<std::string> api_address = GetEnv("AWS_LAMBDA_RUNTIME_API");
  Result<LogConfig> log_config = LogConfigFromEnvironment();
  if (!log_config.ok()) {
    ConfigureLogging(LogConfig{});
    if (command->event_file || !api_address) {
      std::cerr << "bootstrap: " << log_config.status().message() << '\n';
      return kExitUsage;
    }
    Result<std::unique_ptr<http::Client>> http =
        http::NewClient(runtime::RuntimeApiClientOptions());
    if (http.ok()) {
      (void)runtime::ReportInitError(**http, *api_address, "Runtime.ConfigurationError",
                                     log_config.status().message());
    }
    return kExitFailure;
  }
  ConfigureLogging(*log_config);

  if (command->event_file) return RunLocal(*command, engines);
  if (!api_address || api_address->empty()) {
    std::cerr << "bootstrap: AWS_LAMBDA_RUNTIME_API is not set; "
                 "run under Lambda, or use "
                 "--event FILE to run one event locally\n\n"
              << kUsage;
    return kExitUsage;
  }
  return RunLambda(*api_address, engines);
}

}  // namespace secret_rotator::app
