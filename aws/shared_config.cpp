#include "aws/shared_config.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "base/env.h"

namespace secret_rotator::aws {
namespace {

constexpr std::string_view kSpace = " \t\r\n\f\v";
// Larger than any real config file; a bound against reading a device.
constexpr off_t kMaxSharedFileBytes = 1 << 20;

std::string_view Trim(std::string_view text) {
  const auto first = text.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(kSpace);
  return text.substr(first, last - first + 1);
}

std::string Lower(std::string_view text) {
  std::string lower(text);
  for (char& c : lower) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return lower;
}

// The profile a section header (the text between [ and ]) names, or nullopt
// when it names none (an sso-session or services section, or a malformed
// one). The CLI splits a config file's header with shlex, so
// [profile "my profile"] names "my profile".
std::optional<std::string> SectionProfile(std::string_view header, SharedFileKind kind) {
  header = Trim(header);
  if (kind == SharedFileKind::kCredentials) return std::string(header);
  if (header == "default") return std::string(header);
  if (!header.starts_with("profile")) return std::nullopt;
  Result<std::vector<std::string>> words = SplitCommandLine(header);
  if (!words.ok() || words->size() != 2 || (*words)[0] != "profile") return std::nullopt;
  return (*words)[1];
}

}  // namespace

Status ConfigurationError(std::string message) {
  return Status(StatusCode::kFailedPrecondition, "ConfigurationError", std::move(message));
}

std::optional<ProfileSettings> FindProfile(std::string_view contents, SharedFileKind kind,
                                           std::string_view profile) {
  std::optional<ProfileSettings> found;
  bool in_profile = false;
  // The key whose value an indented line continues, while there is one.
  std::optional<std::string> continued;
  while (!contents.empty()) {
    const auto end = contents.find('\n');
    const std::string_view raw = contents.substr(0, end);
    contents = end == std::string_view::npos ? std::string_view() : contents.substr(end + 1);
    const std::string_view line = Trim(raw);
    if (line.empty()) {
      continued.reset();
      continue;
    }
    if (line.front() == '#' || line.front() == ';') continue;
    const bool indented = kSpace.find(raw.front()) != std::string_view::npos;
    if (indented && continued) {
      if (in_profile) {
        Secret& value = (*found)[*continued];
        std::string joined;
        joined.reserve(value.size() + 1 + line.size());
        joined.append(value.reveal()).append(1, '\n').append(line);
        value = Secret(std::move(joined));
      }
      continue;
    }
    continued.reset();
    if (line.front() == '[') {
      const auto close = line.rfind(']');
      std::optional<std::string> name;
      if (close != std::string_view::npos && close > 1) {
        name = SectionProfile(line.substr(1, close - 1), kind);
      }
      in_profile = name && *name == profile;
      if (in_profile && !found) found.emplace();
      continue;
    }
    const auto delimiter = line.find_first_of("=:");
    if (delimiter == std::string_view::npos) continue;
    std::string key = Lower(Trim(line.substr(0, delimiter)));
    if (in_profile) {
      (*found)[key] = Secret(Trim(line.substr(delimiter + 1)));
    }
    continued = std::move(key);
  }
  return found;
}

std::optional<std::string> SettingText(const ProfileSettings& settings, std::string_view key) {
  const auto it = settings.find(key);
  if (it == settings.end()) return std::nullopt;
  return std::string(it->second.reveal());
}

Result<std::vector<std::string>> SplitCommandLine(std::string_view command) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  for (std::size_t i = 0; i < command.size(); ++i) {
    const char c = command[i];
    if (kSpace.find(c) != std::string_view::npos) {
      if (in_word) words.push_back(std::move(word));
      word.clear();
      in_word = false;
      continue;
    }
    in_word = true;
    if (c == '\'') {
      const auto close = command.find('\'', i + 1);
      if (close == std::string_view::npos) {
        return ConfigurationError("unterminated single quote");
      }
      word.append(command.substr(i + 1, close - i - 1));
      i = close;
    } else if (c == '"') {
      bool closed = false;
      for (++i; i < command.size(); ++i) {
        if (command[i] == '"') {
          closed = true;
          break;
        }
        if (command[i] == '\\' && i + 1 < command.size() &&
            (command[i + 1] == '"' || command[i + 1] == '\\')) {
          ++i;
        }
        word.push_back(command[i]);
      }
      if (!closed) {
        return ConfigurationError("unterminated double quote");
      }
    } else if (c == '\\') {
      if (i + 1 == command.size()) {
        return ConfigurationError("a backslash ends the command");
      }
      word.push_back(command[++i]);
    } else {
      word.push_back(c);
    }
  }
  if (in_word) words.push_back(std::move(word));
  return words;
}

SharedFiles SharedFilesFromEnvironment() {
  SharedFiles files;
  const std::optional<std::string> home = GetEnv("HOME");
  const bool has_home = home && !home->empty();
  if (auto path = GetEnv("AWS_CONFIG_FILE"); path && !path->empty()) {
    files.config_path = *path;
  } else if (has_home) {
    files.config_path = *home + "/.aws/config";
  }
  if (auto path = GetEnv("AWS_SHARED_CREDENTIALS_FILE"); path && !path->empty()) {
    files.credentials_path = *path;
  } else if (has_home) {
    files.credentials_path = *home + "/.aws/credentials";
  }
  if (auto profile = GetEnv("AWS_PROFILE"); profile && !profile->empty()) {
    files.profile = *profile;
    files.profile_from_environment = true;
  } else {
    files.profile = "default";
  }
  return files;
}

Result<std::optional<std::string>> ReadSharedFile(const std::string& path) {
  if (path.empty()) return std::optional<std::string>();
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    if (errno == ENOENT || errno == ENOTDIR) return std::optional<std::string>();
    return ConfigurationError("cannot read " + path + ": " + std::strerror(errno));
  }
  struct stat info {};
  std::string text;
  Status status;
  if (::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
    status = ConfigurationError(path + " is not a regular file");
  } else if (info.st_size > kMaxSharedFileBytes) {
    status = ConfigurationError(path + " is larger than 1 MiB");
  } else {
    text.resize(static_cast<std::size_t>(info.st_size));
    std::size_t done = 0;
    while (done < text.size()) {
      const ssize_t got = ::read(fd, text.data() + done, text.size() - done);
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) {
        status = ConfigurationError("cannot read " + path + ": " + std::strerror(errno));
        break;
      }
      if (got == 0) break;  // the file shrank meanwhile
      done += static_cast<std::size_t>(got);
    }
    text.resize(done);
  }
  ::close(fd);
  if (!status.ok()) {
    WipeString(text);
    return status;
  }
  return std::optional<std::string>(std::move(text));
}

}  // namespace secret_rotator::aws
