// common/net.hpp (Part 1): socket addresses, for bind() and for printing the two ends of a connection.
#pragma once

#include <sys/socket.h>

#include <string>

// An IPv4 or IPv6 address and port, in the form the socket calls take and fill in:
//   accept(fd, address.get(), &address.length)
struct SocketAddress {
  sockaddr_storage storage{};
  socklen_t length = sizeof(storage);

  sockaddr* get() { return reinterpret_cast<sockaddr*>(&storage); }
  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
  int family() const { return storage.ss_family; }
  std::string ip() const;         // "127.0.0.1", "::1"
  int port() const;               // in host byte order
  std::string to_string() const;  // "127.0.0.1:8888", "[::1]:8888"
  bool is_any() const;            // 0.0.0.0 or ::, every address of the machine
};

// The address to bind for `host` (a numeric IPv4/IPv6 address or a name such as localhost) and
// `port`. On failure returns false with a message in `error`.
bool resolve_address(const std::string& host, int port, SocketAddress& address, std::string& error);
