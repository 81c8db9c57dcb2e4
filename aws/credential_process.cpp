#include "aws/credential_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <utility>
#include <vector>

#include "aws/shared_config.h"
#include "base/json.h"

extern char** environ;  // NOLINT(readability-identifier-naming): POSIX's name

namespace secret_rotator::aws {
namespace {

using Clock = std::chrono::steady_clock;

constexpr char kTooSlow[] = "too slow";

Status ProcessError(const std::string& what, const std::string& problem) {
  return ConfigurationError(what + ": " + problem);
}

// The file the program names, looked up as execvp(3) would: as it is when it
// contains a slash, otherwise in each folder of PATH (an empty entry is the
// current folder). Looked up here rather than left to posix_spawnp, so that a
// missing program is always named as such: where the spawn cannot report an
// exec failure (qemu-user, some sandboxes), the child would only exit 127.
// WhyNotRunnable says why a file cannot be run, or "" when it can.
std::string WhyNotRunnable(const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) return std::strerror(errno);
  if (!S_ISREG(info.st_mode)) return "it is not a regular file";
  if (::access(path.c_str(), X_OK) != 0) return std::strerror(errno);
  return "";
}

Result<std::string> FindProgram(const std::string& program) {
  if (program.find('/') != std::string::npos) {
    const std::string why = WhyNotRunnable(program);
    if (why.empty()) return program;
    return ConfigurationError("cannot run it: " + why);
  }
  const char* path = std::getenv("PATH");  // NOLINT(concurrency-mt-unsafe): read only
  const std::string folders = path != nullptr ? path : "/bin:/usr/bin";
  std::size_t start = 0;
  while (start <= folders.size()) {
    std::size_t end = folders.find(':', start);
    if (end == std::string::npos) end = folders.size();
    const std::string folder = folders.substr(start, end - start);
    const std::string candidate = (folder.empty() ? std::string(".") : folder) + "/" + program;
    if (WhyNotRunnable(candidate).empty()) return candidate;
    start = end + 1;
  }
  return ConfigurationError("cannot run it: no executable file of that name in PATH");
}

// A pipe's two ends, closed when it goes.
class Pipe {
 public:
  Pipe() = default;
  Pipe(const Pipe&) = delete;
  Pipe& operator=(const Pipe&) = delete;
  ~Pipe() {
    CloseRead();
    CloseWrite();
  }
  bool Open() { return ::pipe2(fds_.data(), O_CLOEXEC) == 0; }
  int read_end() const { return fds_[0]; }
  int write_end() const { return fds_[1]; }
  void CloseRead() { Close(fds_[0]); }
  void CloseWrite() { Close(fds_[1]); }

 private:
  static void Close(int& fd) {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
  std::array<int, 2> fds_ = {-1, -1};
};

// posix_spawn's settings, released when they go.
class SpawnSettings {
 public:
  SpawnSettings() {
    ok_ = ::posix_spawn_file_actions_init(&actions_) == 0;
    if (ok_ && ::posix_spawnattr_init(&attributes_) != 0) {
      ::posix_spawn_file_actions_destroy(&actions_);
      ok_ = false;
    }
  }
  SpawnSettings(const SpawnSettings&) = delete;
  SpawnSettings& operator=(const SpawnSettings&) = delete;
  ~SpawnSettings() {
    if (!ok_) return;
    ::posix_spawn_file_actions_destroy(&actions_);
    ::posix_spawnattr_destroy(&attributes_);
  }

  // Standard input from /dev/null, standard output into `stdout_fd`; the
  // default action and no mask for every signal (this process ignores
  // SIGPIPE, see http/, and a child would inherit that).
  bool Configure(int stdout_fd) {
    sigset_t all;
    sigset_t none;
    sigfillset(&all);
    sigemptyset(&none);
    return ok_ &&
           ::posix_spawn_file_actions_addopen(&actions_, STDIN_FILENO, "/dev/null", O_RDONLY, 0) ==
               0 &&
           ::posix_spawn_file_actions_adddup2(&actions_, stdout_fd, STDOUT_FILENO) == 0 &&
           ::posix_spawnattr_setsigdefault(&attributes_, &all) == 0 &&
           ::posix_spawnattr_setsigmask(&attributes_, &none) == 0 &&
           ::posix_spawnattr_setflags(&attributes_,
                                      POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK) == 0;
  }
  const posix_spawn_file_actions_t* actions() const { return &actions_; }
  const posix_spawnattr_t* attributes() const { return &attributes_; }

 private:
  bool ok_ = false;
  posix_spawn_file_actions_t actions_{};
  posix_spawnattr_t attributes_{};
};

// Waits for `pid` until `deadline`; kills it then. Returns its wait status,
// or nullopt when it had to be killed.
std::optional<int> Reap(pid_t pid, Clock::time_point deadline) {
  for (;;) {
    int status = 0;
    const pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) return status;
    if (done < 0 && errno != EINTR) return std::nullopt;  // not our child any more
    if (Clock::now() >= deadline) {
      ::kill(pid, SIGKILL);
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      return std::nullopt;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

// Reads `fd` to its end into `*output` until `deadline`. Returns "" on
// success, else what went wrong.
std::string ReadAll(int fd, Clock::time_point deadline, std::string* output) {
  std::array<char, 4096> chunk{};
  std::string problem;
  for (;;) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      problem = kTooSlow;
      break;
    }
    pollfd readable{fd, POLLIN, 0};
    const int ready = ::poll(&readable, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) {
      problem = std::string("waiting for its output failed: ") + std::strerror(errno);
      break;
    }
    if (ready == 0) continue;  // the deadline check above ends it
    const ssize_t got = ::read(fd, chunk.data(), chunk.size());
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      problem = std::string("reading its output failed: ") + std::strerror(errno);
      break;
    }
    if (got == 0) break;
    if (output->size() + static_cast<std::size_t>(got) > kCredentialProcessMaxOutput) {
      problem = "it printed more than " + std::to_string(kCredentialProcessMaxOutput) + " bytes";
      break;
    }
    output->append(chunk.data(), static_cast<std::size_t>(got));
  }
  std::fill(chunk.begin(), chunk.end(), '\0');
  return problem;
}

std::string DescribeWaitStatus(int status) {
  if (WIFEXITED(status)) return "it exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "it was killed by signal " + std::to_string(WTERMSIG(status));
  return "it ended abnormally";
}

// Reads `count` digits at `*pos` of `text` as a number; advances `*pos`.
std::optional<int> Digits(std::string_view text, std::size_t* pos, std::size_t count) {
  if (*pos + count > text.size()) return std::nullopt;
  int value = 0;
  for (std::size_t i = 0; i < count; ++i) {
    const char c = text[*pos + i];
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  *pos += count;
  return value;
}

bool Expect(std::string_view text, std::size_t* pos, std::string_view allowed) {
  if (*pos >= text.size() || allowed.find(text[*pos]) == std::string_view::npos) return false;
  ++*pos;
  return true;
}

}  // namespace

std::optional<std::chrono::system_clock::time_point> ParseRfc3339(std::string_view text) {
  std::size_t pos = 0;
  const auto year = Digits(text, &pos, 4);
  if (!year || !Expect(text, &pos, "-")) return std::nullopt;
  const auto month = Digits(text, &pos, 2);
  if (!month || !Expect(text, &pos, "-")) return std::nullopt;
  const auto day = Digits(text, &pos, 2);
  if (!day || !Expect(text, &pos, "Tt ")) return std::nullopt;
  const auto hour = Digits(text, &pos, 2);
  if (!hour || !Expect(text, &pos, ":")) return std::nullopt;
  const auto minute = Digits(text, &pos, 2);
  if (!minute || !Expect(text, &pos, ":")) return std::nullopt;
  const auto second = Digits(text, &pos, 2);
  if (!second) return std::nullopt;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    const std::size_t first = pos;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') ++pos;
    if (pos == first) return std::nullopt;  // fractions below a second are dropped
  }
  int offset_minutes = 0;
  if (Expect(text, &pos, "Zz")) {
    // UTC
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    const int sign = text[pos] == '-' ? -1 : 1;
    ++pos;
    const auto offset_hours = Digits(text, &pos, 2);
    if (!offset_hours) return std::nullopt;
    Expect(text, &pos, ":");
    const auto offset_rest = Digits(text, &pos, 2);
    if (!offset_rest || *offset_hours > 23 || *offset_rest > 59) return std::nullopt;
    offset_minutes = sign * (*offset_hours * 60 + *offset_rest);
  } else {
    return std::nullopt;
  }
  if (pos != text.size()) return std::nullopt;

  const std::chrono::year_month_day date{std::chrono::year(*year),
                                         std::chrono::month(static_cast<unsigned>(*month)),
                                         std::chrono::day(static_cast<unsigned>(*day))};
  // A leap second (:60) is accepted and counts as the next second.
  if (!date.ok() || *hour > 23 || *minute > 59 || *second > 60) return std::nullopt;
  const std::chrono::sys_seconds at = std::chrono::sys_days(date) + std::chrono::hours(*hour) +
                                      std::chrono::minutes(*minute - offset_minutes) +
                                      std::chrono::seconds(*second);
  // The clock counts nanoseconds in 64 bits: from 1677 to 2262.
  using Time = std::chrono::system_clock::time_point;
  if (at >= std::chrono::floor<std::chrono::seconds>(Time::max())) return Time::max();
  if (at <= std::chrono::ceil<std::chrono::seconds>(Time::min())) return Time::min();
  return std::chrono::time_point_cast<Time::duration>(at);
}

Result<Credentials> ParseCredentialProcessOutput(std::string_view output, const std::string& what,
                                                 std::chrono::system_clock::time_point now) {
  Result<JsonValue> parsed = ParseJson(output, what + "'s output", "ConfigurationError");
  if (!parsed.ok()) return ConfigurationError(parsed.status().message());
  JsonValue& json = *parsed;
  Credentials credentials;
  Status problem;
  const JsonValue* version = JsonMember(json, "Version");
  const std::string* key_id = JsonStringMember(json, "AccessKeyId");
  const std::string* secret = JsonStringMember(json, "SecretAccessKey");
  const JsonValue* token = JsonMember(json, "SessionToken");
  const JsonValue* expiration = JsonMember(json, "Expiration");
  if (!json.is_object()) {
    problem = ProcessError(
        what, "its output is " + std::string(JsonTypeName(json)) + ", not a JSON object");
  } else if (version == nullptr || !version->is_number_integer() || *version != 1) {
    problem = ProcessError(what, "its output's Version must be the number 1");
  } else if (key_id == nullptr || key_id->empty() || secret == nullptr || secret->empty()) {
    problem =
        ProcessError(what, "its output lacks AccessKeyId or SecretAccessKey (non-empty strings)");
  } else if (token != nullptr && !token->is_null() && !token->is_string()) {
    problem = ProcessError(what, "its output's SessionToken must be a string");
  } else if (expiration != nullptr && !expiration->is_null()) {
    const std::string* text =
        expiration->is_string() ? expiration->get_ptr<const std::string*>() : nullptr;
    credentials.expiration = text != nullptr ? ParseRfc3339(*text) : std::nullopt;
    if (!credentials.expiration) {
      problem = ProcessError(what,
                             "its output's Expiration must be an RFC 3339 time such as "
                             "2024-05-01T12:00:00Z");
    } else if (*credentials.expiration <= now) {
      problem = ProcessError(
          what, "the credentials it printed expired at " + FormatUtcTime(*credentials.expiration));
    }
  }
  if (problem.ok()) {
    credentials.access_key_id = *key_id;
    credentials.secret_access_key = Secret(*secret);
    if (token != nullptr && token->is_string()) {
      credentials.session_token = Secret(token->get<std::string>());
    }
  }
  WipeJson(json);
  if (!problem.ok()) return problem;
  return credentials;
}

Result<Credentials> RunCredentialProcess(std::string_view command, const std::string& what,
                                         std::chrono::milliseconds timeout) {
  Result<std::vector<std::string>> words = SplitCommandLine(command);
  if (!words.ok()) {
    return ProcessError(what, "cannot split the command: " + words.status().message());
  }
  if (words->empty()) return ProcessError(what, "the command is empty");
  const std::string program = (*words)[0];
  const std::string who = what + " (" + program + ")";
  Result<std::string> file = FindProgram(program);
  if (!file.ok()) return ProcessError(who, file.status().message());
  std::vector<char*> argv;
  argv.reserve(words->size() + 1);
  for (std::string& word : *words) argv.push_back(word.data());
  argv.push_back(nullptr);

  Pipe output_pipe;
  SpawnSettings settings;
  if (!output_pipe.Open() || !settings.Configure(output_pipe.write_end())) {
    return ProcessError(who, std::string("cannot prepare to run it: ") + std::strerror(errno));
  }
  const Clock::time_point deadline = Clock::now() + timeout;
  pid_t pid = -1;
  const int spawned = ::posix_spawn(&pid, file->c_str(), settings.actions(), settings.attributes(),
                                    argv.data(), environ);
  if (spawned != 0) {
    return ProcessError(who, std::string("cannot run it: ") + std::strerror(spawned));
  }
  output_pipe.CloseWrite();

  std::string output;
  output.reserve(kCredentialProcessMaxOutput);  // no reallocation leaves a copy behind
  std::string problem = ReadAll(output_pipe.read_end(), deadline, &output);
  output_pipe.CloseRead();
  // Once reading has failed, the program gets no more time.
  const std::optional<int> status = Reap(pid, problem.empty() ? deadline : Clock::now());
  if (problem.empty() && !status) problem = kTooSlow;
  if (problem.empty() && *status != 0) problem = DescribeWaitStatus(*status);
  if (problem == kTooSlow) {
    problem = "it did not finish within " + std::to_string(timeout.count()) + " ms";
  }
  Result<Credentials> result =
      problem.empty() ? ParseCredentialProcessOutput(output, who, std::chrono::system_clock::now())
                      : ProcessError(who, problem);
  WipeString(output);
  return result;
}

}  // namespace secret_rotator::aws
