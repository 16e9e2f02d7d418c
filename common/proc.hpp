// common/proc.hpp (Part 4): what the kernel says about this process, read from /proc (Linux only).
//
// Every open file, pipe, terminal and socket of a process is a small number in /proc/self/fd,
// and a TCP socket's state and addresses are in /proc/self/net/tcp (and tcp6), found by the
// socket's inode number.
#pragma once

#include <optional>
#include <string>
#include <string_view>

// One line of /proc/net/tcp or /proc/net/tcp6.
struct TcpSocketInfo {
  unsigned long inode = 0;
  std::string state;  // "LISTEN", "ESTABLISHED", ...
  std::string local;  // "127.0.0.1:8888", "[::1]:8888"
  std::string remote;
  unsigned long queue = 0;  // LISTEN: connections waiting for accept(); otherwise bytes not yet read
};

// One line of /proc/net/tcp (`ipv6` false) or /proc/net/tcp6 (true), not the heading; nothing if
// it does not parse.
std::optional<TcpSocketInfo> parse_proc_net_tcp_line(std::string_view line, bool ipv6);

// "4 -> socket:[24700]": one descriptor and what it is, for a log line.
std::string describe_descriptor(int fd);

// The whole table, as /fds shows it: the descriptor limit, the listen backlog asked for and
// what the kernel makes of it, and every descriptor, with the state and addresses of TCP sockets.
std::string descriptor_table(int backlog);
