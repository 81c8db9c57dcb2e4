#include "tests/support/task_dir.h"

#include <filesystem>
#include <stdexcept>

#include "tests/support/process.h"

namespace secret_rotator::testing {

namespace fs = std::filesystem;

TaskDir MakeTaskDir(const std::string& parent, const std::string& bootstrap,
                    const std::string& ca_bundle, const std::vector<std::string>& loopback_names) {
  TaskDir task;
  task.dir = MakeTempDirIn(parent, "task");
  // A copy, not a link: the function finds its bundle next to its own
  // executable (/proc/self/exe), which a symbolic link would resolve away.
  fs::copy_file(bootstrap, task.dir + "/bootstrap");
  fs::permissions(task.dir + "/bootstrap", fs::perms::owner_all, fs::perm_options::add);
  fs::copy_file(ca_bundle, task.dir + "/db-ca-bundle.pem");
  task.bootstrap = task.dir + "/bootstrap";
  if (loopback_names.empty()) return task;

  std::string hosts = ReadFile("/etc/hosts");
  if (!hosts.empty() && hosts.back() != '\n') hosts += '\n';
  for (const std::string& name : loopback_names) hosts += "127.0.0.1 " + name + "\n";
  const std::string wrapper_dir = MakeTempDirIn(parent, "wrapper");
  WriteFile(wrapper_dir + "/hosts", hosts);
  // Outside the task folder, so that the real bootstrap stays the only
  // executable there; exec keeps the process the Lambda service watches.
  const std::string wrapper = wrapper_dir + "/run-bootstrap";
  WriteFile(wrapper,
            "#!/bin/sh\n"
            "exec unshare -rm /bin/sh -c 'mount --bind \"$0\" /etc/hosts && exec \"$1\"' '" +
                wrapper_dir + "/hosts' '" + task.bootstrap + "'\n");
  fs::permissions(wrapper, fs::perms::owner_all);
  task.bootstrap = wrapper;
  return task;
}

bool CanMapNamesToLoopback(std::string* why) {
  const ProcessResult result = RunProcess(
      {"/usr/bin/unshare", "-rm", "/bin/sh", "-c", "mount --bind /etc/hosts /etc/hosts"});
  if (result.exit_code == 0) return true;
  *why =
      "unshare -rm (a private mount namespace for /etc/hosts) is not allowed here: " + result.err;
  return false;
}

}  // namespace secret_rotator::testing
