// sockets.cpp - sock_test's loopback connections: N connected pairs over
// 127.0.0.1 per phase, reset (not closed gracefully) afterwards.
#include "sock_test/sock_test.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

namespace sock_test {

namespace {

void set_nonblocking(int fd) {
  const int fl = fcntl(fd, F_GETFL);
  if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0) die("fcntl", errno);
}

}  // namespace

// N connected pairs over 127.0.0.1 (connect one, accept one).
void connect_pairs(int n, std::vector<int>& clients, std::vector<int>& servers) {
  const int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (ls < 0) die("socket", errno);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (bind(ls, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) die("bind 127.0.0.1", errno);
  socklen_t len = sizeof addr;
  if (getsockname(ls, reinterpret_cast<sockaddr*>(&addr), &len) != 0) die("getsockname", errno);
  if (listen(ls, 64) != 0) die("listen", errno);
  for (int i = 0; i < n; ++i) {
    const int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c < 0) die("socket (raise RLIMIT_NOFILE?)", errno);
    if (connect(c, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) die("connect", errno);
    const int s = accept4(ls, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (s < 0) die("accept4", errno);
    set_nonblocking(c);
    clients.push_back(c);
    servers.push_back(s);
  }
  ::close(ls);
}

void close_pairs(std::vector<int>& clients, std::vector<int>& servers) {
  // Reset rather than close gracefully: no TIME_WAIT left behind per phase.
  const linger lg{1, 0};
  for (int c : clients) {
    setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    ::close(c);
  }
  for (int s : servers) ::close(s);
  clients.clear();
  servers.clear();
}

}  // namespace sock_test
