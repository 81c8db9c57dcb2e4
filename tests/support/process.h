// Child processes for tests: run a command to completion, or keep a server
// running for the life of an object.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

namespace secret_rotator::testing {

struct ProcessResult {
  int exit_code = -1;  // the exit status, or 128 + signal number
  std::string out;
  std::string err;
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
std::string ReadFile(const std::string& path);
void WriteFile(const std::string& path, const std::string& contents);
// A TCP port on 127.0.0.1 that was free a moment ago.
int FreeLoopbackPort();

}  // namespace secret_rotator::testing
