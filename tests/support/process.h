// Child processes for tests: run a command to completion, or keep a server
// running for the life of an object.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace secret_rotator::testing {

struct ProcessResult {
  int exit_code = -1;  // the exit status, or 128 + signal number
  std::string out;
  std::string err;
  // The peak resident set size of the process (the largest of its children,
  // if any waited for outlived it), in KiB.
  long max_rss_kib = 0;
};

struct ProcessOptions {
  // Variables to set (or, with clean_env, the only variables).
  std::map<std::string, std::string> env;
  bool clean_env = false;
  std::string stdin_data;
};

// Runs `argv` and waits for it, capturing stdout and stderr.
ProcessResult RunProcess(const std::vector<std::string>& argv, const ProcessOptions& options = {});

// A process that runs in the background until this object is destroyed
// (SIGTERM, then SIGKILL after 5 s). Output goes to `log_path`.
class BackgroundProcess {
 public:
  BackgroundProcess(const std::vector<std::string>& argv, const ProcessOptions& options,
                    const std::string& log_path);
  BackgroundProcess(const BackgroundProcess&) = delete;
  BackgroundProcess& operator=(const BackgroundProcess&) = delete;
  ~BackgroundProcess();

  pid_t pid() const { return pid_; }
  // Returns true iff the process has not exited.
  bool Running();

 private:
  pid_t pid_ = -1;
};

// A new empty directory under the system temp dir, named after `prefix`.
std::string MakeTempDir(const std::string& prefix);
// A new empty directory in `parent` (created if missing), named after `prefix`.
std::string MakeTempDirIn(const std::string& parent, const std::string& prefix);
std::string ReadFile(const std::string& path);
void WriteFile(const std::string& path, const std::string& contents);
// The KEY=VALUE lines of a file such as the server.env that
// tests/servers/*.sh write: each line split at its first '=', lines without
// one skipped. Returns nullopt iff the file cannot be opened.
std::optional<std::map<std::string, std::string>> ReadEnvFile(const std::string& path);
// Issues `tls_dir`/`stem`.pem and .key, a server certificate for the DNS
// name `dns_name` signed by the CA of `tls_dir` (a tests/servers/make_tls.sh
// folder), with openssl. Returns false if any openssl command failed.
bool IssueServerCertificate(const std::string& tls_dir, const std::string& dns_name,
                            const std::string& stem);
// A TCP port on 127.0.0.1 that was free a moment ago. Throws
// std::runtime_error when none can be had.
int FreeLoopbackPort();
// `digits` random lowercase hex digits, for names and passwords no other test
// uses. Thread-safe.
std::string RandomHex(std::size_t digits);

}  // namespace secret_rotator::testing
