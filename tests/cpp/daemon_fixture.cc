#include "daemon_fixture.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace tensord::testing {

Daemon::Daemon(const std::string& config_yaml, std::vector<std::string> extra_args) {
  char tmpl[] = "/tmp/tensord-test-XXXXXX";
  dir_ = mkdtemp(tmpl);
  const std::string sock = dir_ + "/d.sock";
  address_ = "unix:" + sock;
  // TENSORD_BINARY in the environment wins (a GPU bundle runs elsewhere).
  const char* env_binary = std::getenv("TENSORD_BINARY");
  std::vector<std::string> args = {env_binary && *env_binary ? env_binary : TENSORD_BINARY, "--listen", address_, "--log-level", "info",
                                   "--threads", "2"};
  if (!config_yaml.empty()) {
    std::ofstream(dir_ + "/config.yaml") << config_yaml;
    args.push_back("--config");
    args.push_back(dir_ + "/config.yaml");
  }
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  pid_ = fork();
  if (pid_ == 0) {
    // No metrics unless a test passes --metrics-listen: the default port is
    // one per machine, and test runs share machines.
    setenv("TENSORD_METRICS_LISTEN", "", /*overwrite=*/0);
    int fd = open((dir_ + "/daemon.log").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  // The socket file appears at bind(), a moment before listen(): wait until
  // a connection is accepted, or a test's first call may be refused.
  const auto accepting = [&sock] {
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, sock.c_str(), sizeof(addr.sun_path) - 1);
    const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    close(fd);
    return ok;
  };
  while (!accepting()) {
    std::string failure;
    if (!alive()) failure = "tensord exited at start:\n" + log();
    if (std::chrono::steady_clock::now() > deadline) failure = "tensord did not start";
    if (!failure.empty()) {
      // No destructor runs for a throwing constructor: clean up here, or
      // every failed start leaves a directory in /tmp.
      Cleanup();
      throw std::runtime_error(failure);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

Daemon::~Daemon() { Cleanup(); }

void Daemon::Cleanup() {
  if (pid_ > 0) Terminate();
  std::string cmd = "rm -rf " + dir_;
  (void)std::system(cmd.c_str());
}

bool Daemon::alive() {
  if (pid_ <= 0) return false;
  int status;
  return waitpid(pid_, &status, WNOHANG) == 0;
}

int Daemon::Terminate() {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  int status = 0;
  for (int i = 0; i < 400; ++i) {
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  kill(pid_, SIGKILL);
  waitpid(pid_, &status, 0);
  pid_ = -1;
  return -1;
}

void Daemon::Signal(int sig) {
  if (pid_ > 0) kill(pid_, sig);
}

std::string Daemon::log() const {
  std::ifstream f(dir_ + "/daemon.log");
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

}  // namespace tensord::testing
