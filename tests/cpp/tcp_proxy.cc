#include "tcp_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace tensord::testing {
namespace {

// Closing with SO_LINGER 0 sends RST, like a dropped link, not a clean FIN.
void CloseHard(int fd) {
  linger l{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
  close(fd);
}

bool SendAll(int fd, const char* p, ssize_t n) {
  while (n > 0) {
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w <= 0) return false;
    p += w;
    n -= w;
  }
  return true;
}

}  // namespace

TcpProxy::TcpProxy(std::string target) : target_(std::move(target)) {
  if (target_.rfind("unix:", 0) != 0) throw std::invalid_argument("TcpProxy forwards to unix: addresses");
  listener_ = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (bind(listener_, reinterpret_cast<sockaddr*>(&addr), len) != 0 || listen(listener_, 16) != 0 ||
      getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    throw std::runtime_error(std::string("TcpProxy: ") + std::strerror(errno));
  }
  address_ = "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
  acceptor_ = std::thread([this] { AcceptLoop(); });
}

TcpProxy::~TcpProxy() {
  stopping_ = true;
  shutdown(listener_, SHUT_RDWR);
  acceptor_.join();
  close(listener_);
  Sever();
  for (auto& t : threads_) t.join();
}

void TcpProxy::AcceptLoop() {
  for (;;) {
    int client = accept(listener_, nullptr, nullptr);
    if (client < 0) {
      if (stopping_) return;
      continue;
    }
    if (refusing_) {
      CloseHard(client);
      continue;
    }
    int upstream = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un un{};
    un.sun_family = AF_UNIX;
    std::strncpy(un.sun_path, target_.c_str() + 5, sizeof(un.sun_path) - 1);
    if (connect(upstream, reinterpret_cast<sockaddr*>(&un), sizeof(un)) != 0) {
      close(upstream);
      CloseHard(client);
      continue;
    }
    std::lock_guard<std::mutex> lock(mu_);
    open_.push_back(client);
    open_.push_back(upstream);
    threads_.emplace_back([this, client, upstream] { Pump(client, upstream); });
  }
}

void TcpProxy::Pump(int a, int b) {
  char buf[1 << 16];
  pollfd fds[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
  for (bool open = true; open;) {
    if (poll(fds, 2, -1) < 0) break;
    for (int i = 0; i < 2 && open; ++i) {
      if (!fds[i].revents) continue;
      ssize_t n = recv(fds[i].fd, buf, sizeof(buf), 0);
      open = n > 0 && SendAll(fds[1 - i].fd, buf, n);
    }
  }
  // Only this thread closes its sockets: Sever() shuts them down, so a
  // descriptor is never reused while this loop still polls it.
  {
    std::lock_guard<std::mutex> lock(mu_);
    std::erase(open_, a);
    std::erase(open_, b);
  }
  CloseHard(a);
  close(b);
}

int TcpProxy::Sever() {
  std::lock_guard<std::mutex> lock(mu_);
  const int connections = static_cast<int>(open_.size() / 2);
  for (int fd : open_) shutdown(fd, SHUT_RDWR);
  open_.clear();  // the pumps see EOF and close them
  severed_ += connections;
  return connections;
}

}  // namespace tensord::testing
