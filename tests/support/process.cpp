#include "tests/support/process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace secret_rotator::testing {
namespace {

std::vector<std::string> Environment(const ProcessOptions& options) {
  std::map<std::string, std::string> variables;
  if (!options.clean_env) {
    for (char** entry = environ; *entry != nullptr; ++entry) {
      const std::string text = *entry;
      const auto equals = text.find('=');
      if (equals != std::string::npos) variables[text.substr(0, equals)] = text.substr(equals + 1);
    }
  }
  for (const auto& [name, value] : options.env) variables[name] = value;
  std::vector<std::string> out;
  for (const auto& [name, value] : variables) out.push_back(name + "=" + value);
  return out;
}

std::vector<char*> Pointers(std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  for (std::string& s : strings) pointers.push_back(s.data());
  pointers.push_back(nullptr);
  return pointers;
}

// Starts the program in a process group of its own, with fds 0/1/2 opened
// from the given paths; -1 (and errno) when it cannot. posix_spawn rather than
// fork: nothing runs between fork and exec in a copy of a threaded test, and
// fork of a dynamically linked arm64 program hangs under Debian 12's
// qemu-user 7.2, where the unit tests also run.
pid_t Spawn(const std::vector<std::string>& argv, const ProcessOptions& options,
            const std::string& stdin_path, const std::string& stdout_path,
            const std::string& stderr_path) {
  std::vector<std::string> args = argv;
  std::vector<std::string> env = Environment(options);
  std::vector<char*> arg_pointers = Pointers(args);
  std::vector<char*> env_pointers = Pointers(env);
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attributes;
  ::posix_spawn_file_actions_init(&actions);
  ::posix_spawnattr_init(&attributes);
  constexpr int kOutput = O_WRONLY | O_CREAT | O_APPEND;
  ::posix_spawn_file_actions_addopen(&actions, 0, stdin_path.c_str(), O_RDONLY, 0);
  ::posix_spawn_file_actions_addopen(&actions, 1, stdout_path.c_str(), kOutput, 0600);
  if (stderr_path == stdout_path) {
    ::posix_spawn_file_actions_adddup2(&actions, 1, 2);
  } else {
    ::posix_spawn_file_actions_addopen(&actions, 2, stderr_path.c_str(), kOutput, 0600);
  }
  ::posix_spawnattr_setpgroup(&attributes, 0);
  ::posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP);
  pid_t pid = -1;
  const int failed = ::posix_spawn(&pid, arg_pointers[0], &actions, &attributes,
                                   arg_pointers.data(), env_pointers.data());
  ::posix_spawnattr_destroy(&attributes);
  ::posix_spawn_file_actions_destroy(&actions);
  if (failed != 0) {
    errno = failed;
    return -1;
  }
  return pid;
}

int ExitCode(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

std::string MakeTempDir(const std::string& prefix) {
  return MakeTempDirIn(std::filesystem::temp_directory_path().string(), prefix);
}

std::string MakeTempDirIn(const std::string& parent, const std::string& prefix) {
  std::filesystem::create_directories(parent);
  std::string pattern = (std::filesystem::path(parent) / (prefix + "_XXXXXX")).string();
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  return pattern;
}

std::string ReadFile(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
}

void WriteFile(const std::string& path, const std::string& contents) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << contents;
}

std::optional<std::map<std::string, std::string>> ReadEnvFile(const std::string& path) {
  std::ifstream file(path);
  if (!file) return std::nullopt;
  std::map<std::string, std::string> values;
  for (std::string line; std::getline(file, line);) {
    if (const std::size_t equals = line.find('='); equals != std::string::npos) {
      values[line.substr(0, equals)] = line.substr(equals + 1);
    }
  }
  return values;
}

ProcessResult RunProcess(const std::vector<std::string>& argv, const ProcessOptions& options) {
  const std::string dir = MakeTempDir("run");
  WriteFile(dir + "/in", options.stdin_data);
  const pid_t pid = Spawn(argv, options, dir + "/in", dir + "/out", dir + "/err");
  if (pid < 0) {
    ProcessResult failed{127, "", "cannot run " + argv[0] + ": " + std::strerror(errno), 0};
    std::filesystem::remove_all(dir);
    return failed;
  }
  int status = 0;
  rusage usage{};
  ::wait4(pid, &status, 0, &usage);
  ProcessResult result{ExitCode(status), ReadFile(dir + "/out"), ReadFile(dir + "/err"),
                       usage.ru_maxrss};
  std::filesystem::remove_all(dir);
  return result;
}

BackgroundProcess::BackgroundProcess(const std::vector<std::string>& argv,
                                     const ProcessOptions& options, const std::string& log_path) {
  pid_ = Spawn(argv, options, "/dev/null", log_path, log_path);
}

bool BackgroundProcess::Running() {
  int status = 0;
  return pid_ > 0 && ::waitpid(pid_, &status, WNOHANG) == 0;
}

BackgroundProcess::~BackgroundProcess() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  for (int i = 0; i < 100; ++i) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) != 0) {
      ::kill(-pid_, SIGKILL);  // anything it left behind in its group
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ::kill(-pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
}

bool IssueServerCertificate(const std::string& tls_dir, const std::string& dns_name,
                            const std::string& stem) {
  const std::string base = tls_dir + "/" + stem;
  WriteFile(base + ".ext", "subjectAltName=DNS:" + dns_name + "\n");
  return RunProcess({"/usr/bin/openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj",
                     "/CN=" + dns_name, "-keyout", base + ".key", "-out", base + ".csr"})
                 .exit_code == 0 &&
         RunProcess({"/usr/bin/openssl", "x509", "-req", "-in", base + ".csr", "-CA",
                     tls_dir + "/ca.pem", "-CAkey", tls_dir + "/ca.key", "-CAcreateserial", "-days",
                     "1", "-extfile", base + ".ext", "-out", base + ".pem"})
                 .exit_code == 0;
}

namespace {

// Whether `port` on 127.0.0.1 can be bound now (0: any port; *port is then set to it).
bool BindsOnLoopback(int* port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("FreeLoopbackPort: socket failed");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<std::uint16_t>(*port));
  socklen_t length = sizeof(address);
  const bool bound = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
                     ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0;
  ::close(fd);
  if (bound) *port = ntohs(address.sin_port);
  return bound;
}

}  // namespace

// A port below the kernel's ephemeral range (ip_local_port_range, usually
// 32768-60999): the port is free now and a server binds it a moment later,
// and in between the kernel hands ephemeral ports to other tests' outgoing
// connections, so an ephemeral port may be taken by then.
int FreeLoopbackPort() {
  int ephemeral_low = 32768;
  std::ifstream("/proc/sys/net/ipv4/ip_local_port_range") >> ephemeral_low;
  constexpr int kLowest = 10000;
  if (ephemeral_low > kLowest + 1000) {
    thread_local std::mt19937 random{std::random_device{}()};
    std::uniform_int_distribution<int> below_ephemeral(kLowest, ephemeral_low - 1);
    for (int attempt = 0; attempt < 200; ++attempt) {
      int port = below_ephemeral(random);
      if (BindsOnLoopback(&port)) return port;
    }
  }
  int any = 0;
  if (!BindsOnLoopback(&any))
    throw std::runtime_error("FreeLoopbackPort: no port on 127.0.0.1 to bind");
  return any;
}

std::string RandomHex(std::size_t digits) {
  thread_local std::mt19937_64 random{std::random_device{}()};
  constexpr char kHex[] = "0123456789abcdef";
  std::string text;
  for (std::size_t i = 0; i < digits; ++i) text += kHex[random() % 16];
  return text;
}

}  // namespace secret_rotator::testing
