// common/proc.hpp: what the kernel says about this process, read from /proc (Linux only).
//
// Part 4 uses it to show the server's file descriptors: every open file, pipe, terminal and
// socket is a small number in /proc/self/fd, and a TCP socket's state and addresses are in
// /proc/self/net/tcp (and tcp6), found by the socket's inode number.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

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

// The sockets listed in the whole text of either file. Lines that do not parse are skipped.
std::vector<TcpSocketInfo> parse_proc_net_tcp(std::string_view text, bool ipv6);

struct Descriptor {
  int fd = -1;
  std::string target;  // what /proc/self/fd/N links to: "/dev/pts/3", "pipe:[123]", "socket:[456]"
};

// This process's open descriptors, in order, from /proc/self/fd. A descriptor closed while
// being listed is left out; a link that cannot be read shows why. Returns false, with a message
// in `error`, if /proc/self/fd cannot be read at all.
bool list_descriptors(std::vector<Descriptor>& descriptors, std::string& error);

// "4 -> socket:[24700]": one descriptor and what it is, for a log line.
std::string describe_descriptor(int fd);

// The PIDs of this process's children that have not been reaped yet (running or zombies), from
// the parent field of every /proc/PID/stat. Empty if /proc cannot be read.
std::vector<int> child_processes();

// The whole table, as /fds shows it: the descriptor limit, the listen backlog asked for and
// what the kernel makes of it, and every descriptor, with the state and addresses of TCP sockets.
std::string descriptor_table(int backlog);
