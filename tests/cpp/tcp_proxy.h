// A TCP proxy between a client and a daemon that can cut every connection,
// so tests can drop the network under a running client.
#ifndef TENSORD_TESTS_CPP_TCP_PROXY_H_
#define TENSORD_TESTS_CPP_TCP_PROXY_H_

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace tensord::testing {

class TcpProxy {
 public:
  // Listens on 127.0.0.1 (an ephemeral port); forwards each connection to
  // `target`, a daemon's "unix:PATH".
  explicit TcpProxy(std::string target);
  ~TcpProxy();
  TcpProxy(const TcpProxy&) = delete;
  TcpProxy& operator=(const TcpProxy&) = delete;

  const std::string& address() const { return address_; }  // "127.0.0.1:PORT"
  // Resets every open connection (both ends see it die); returns how many.
  int Sever();
  // While refusing, new connections are reset at once.
  void Refuse(bool refuse) { refusing_ = refuse; }
  int severed() const { return severed_; }

 private:
  void AcceptLoop();
  void Pump(int a, int b);

  std::string target_, address_;
  int listener_ = -1;
  std::atomic<bool> refusing_{false}, stopping_{false};
  std::atomic<int> severed_{0};
  std::mutex mu_;
  std::vector<int> open_;  // sockets of live connections (both sides)
  std::vector<std::thread> threads_;
  std::thread acceptor_;
};

}  // namespace tensord::testing

#endif  // TENSORD_TESTS_CPP_TCP_PROXY_H_
