// Starts a real tensord daemon as a subprocess on a private Unix socket.
#ifndef TENSORD_TESTS_CPP_DAEMON_FIXTURE_H_
#define TENSORD_TESTS_CPP_DAEMON_FIXTURE_H_

#include <sys/types.h>

#include <string>
#include <vector>

namespace tensord::testing {

class Daemon {
 public:
  // `config_yaml` non-empty: written to a file passed as --config.
  explicit Daemon(const std::string& config_yaml = "", std::vector<std::string> extra_args = {});
  ~Daemon();
  const std::string& address() const { return address_; }  // "unix:/tmp/..."
  bool alive();
  pid_t pid() const { return pid_; }
  // Sends SIGTERM and returns the exit status (-1 if it had to be killed).
  int Terminate();
  // Sends `sig` and returns at once (Terminate waits for the exit).
  void Signal(int sig);
  std::string log() const;

 private:
  void Cleanup();  // stops the daemon, removes its directory

  pid_t pid_ = -1;
  std::string dir_, address_;
};

}  // namespace tensord::testing

#endif  // TENSORD_TESTS_CPP_DAEMON_FIXTURE_H_
