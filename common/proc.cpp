// common/proc.cpp (Part 4)
#include "common/proc.hpp"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <vector>

namespace {

// The states of RFC 793 as Linux numbers them (include/net/tcp_states.h).
const char* tcp_state_name(unsigned state) {
  static constexpr const char* kNames[] = {
      "?",     "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2",   "TIME_WAIT",
      "CLOSE", "CLOSE_WAIT",  "LAST_ACK", "LISTEN",   "CLOSING",   "NEW_SYN_RECV"};
  return state < std::size(kNames) ? kNames[state] : "?";
}

bool parse_hex(std::string_view text, unsigned long& value) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, 16);
  return ec == std::errc() && end == text.data() + text.size();
}

// "0100007F:22B8" -> "127.0.0.1:8888". The kernel prints the address as the 32-bit words it
// holds in memory, each written as a hexadecimal number in the host's byte order: on a
// little-endian machine 127.0.0.1 (bytes 7F 00 00 01) comes out as 0100007F. Reading each word
// back as a number and storing it the same way restores the bytes. The port is a plain number.
bool parse_endpoint(std::string_view text, bool ipv6, std::string& out) {
  std::size_t colon = text.find(':');
  std::size_t words = ipv6 ? 4 : 1;
  if (colon != words * 8) return false;
  unsigned char bytes[16];
  for (std::size_t i = 0; i < words; ++i) {
    unsigned long word = 0;
    if (!parse_hex(text.substr(i * 8, 8), word)) return false;
    auto host_word = static_cast<std::uint32_t>(word);
    std::memcpy(bytes + i * 4, &host_word, 4);
  }
  unsigned long port = 0;
  if (!parse_hex(text.substr(colon + 1), port) || port > 65535) return false;
  char ip[INET6_ADDRSTRLEN];
  inet_ntop(ipv6 ? AF_INET6 : AF_INET, bytes, ip, sizeof ip);
  std::string port_text = port == 0 ? "*" : std::to_string(port);
  out = ipv6 ? "[" + std::string(ip) + "]:" + port_text : std::string(ip) + ":" + port_text;
  return true;
}

// The inode in "socket:[24700]", or 0.
unsigned long socket_inode(const std::string& target) {
  if (target.rfind("socket:[", 0) != 0 || target.back() != ']') return 0;
  unsigned long inode = 0;
  std::from_chars(target.data() + 8, target.data() + target.size() - 1, inode);
  return inode;
}

std::string link_target(int dir_fd, const char* name) {
  char target[4096];
  ssize_t n = readlinkat(dir_fd, name, target, sizeof target - 1);
  if (n < 0) return errno == ENOENT ? "" : std::string("(unreadable: ") + std::strerror(errno) + ")";
  return std::string(target, static_cast<std::size_t>(n));
}

struct Descriptor {
  int fd = -1;
  std::string target;  // what /proc/self/fd/N links to: "/dev/pts/3", "pipe:[123]", "socket:[456]"
};

// This process's open descriptors, in order, from /proc/self/fd. A descriptor closed while being
// listed is left out; a link that cannot be read shows why. Returns false, with a message in
// `error`, if /proc/self/fd cannot be read at all.
bool list_descriptors(std::vector<Descriptor>& descriptors, std::string& error) {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) {
    error = std::string("cannot read /proc/self/fd: ") + std::strerror(errno);
    if (errno == ENOENT) error += " (is /proc mounted?)";
    return false;
  }
  while (dirent* entry = readdir(dir)) {
    int fd = 0;
    auto [end, ec] = std::from_chars(entry->d_name, entry->d_name + std::strlen(entry->d_name), fd);
    if (ec != std::errc() || *end != '\0' || fd == dirfd(dir)) continue;  // ".", "..", and the listing itself
    std::string target = link_target(dirfd(dir), entry->d_name);
    if (!target.empty()) descriptors.push_back({fd, target});  // empty: closed meanwhile
  }
  closedir(dir);
  std::sort(descriptors.begin(), descriptors.end(),
            [](const Descriptor& a, const Descriptor& b) { return a.fd < b.fd; });
  return true;
}

}  // namespace

std::optional<TcpSocketInfo> parse_proc_net_tcp_line(std::string_view line, bool ipv6) {
  // "  sl  local_address rem_address   st tx_queue:rx_queue tr:tm->when retrnsmt   uid  timeout inode ..."
  std::istringstream fields{std::string(line)};
  std::string slot, local, remote, state, queues, timer, retransmits, uid, timeout;
  TcpSocketInfo info;
  if (!(fields >> slot >> local >> remote >> state >> queues >> timer >> retransmits >> uid >> timeout >>
        info.inode)) {
    return std::nullopt;
  }
  unsigned long state_number = 0;
  std::size_t colon = queues.find(':');
  if (!parse_hex(state, state_number) || colon == std::string::npos ||
      !parse_hex(std::string_view(queues).substr(colon + 1), info.queue) ||
      !parse_endpoint(local, ipv6, info.local) || !parse_endpoint(remote, ipv6, info.remote)) {
    return std::nullopt;
  }
  info.state = tcp_state_name(static_cast<unsigned>(state_number));
  return info;
}

std::string describe_descriptor(int fd) {
  std::string target = link_target(AT_FDCWD, ("/proc/self/fd/" + std::to_string(fd)).c_str());
  if (target.empty())
    target = fcntl(fd, F_GETFD) < 0 ? "(closed)" : "(not in /proc/self/fd: is /proc mounted?)";
  return std::to_string(fd) + " -> " + target;
}

std::string descriptor_table(int backlog) {
  std::string text = "Process " + std::to_string(getpid()) + ": its file descriptors, from /proc/self/fd\n";

  rlimit limit{};
  getrlimit(RLIMIT_NOFILE, &limit);
  auto show = [](rlim_t value) {
    return value == RLIM_INFINITY ? std::string("unlimited") : std::to_string(value);
  };
  text += "Descriptor limit (RLIMIT_NOFILE, `ulimit -n`): soft " + show(limit.rlim_cur) + ", hard " +
          show(limit.rlim_max) + "\n";
  int cap = 0;
  if (std::ifstream("/proc/sys/net/core/somaxconn") >> cap) {
    text += "Listen backlog: " + std::to_string(backlog) + " asked for, " +
            std::to_string(std::min(backlog, cap)) +
            " in effect (the kernel caps it at net.core.somaxconn = " + std::to_string(cap) + ")\n";
  }

  std::vector<Descriptor> descriptors;
  std::string error;
  if (!list_descriptors(descriptors, error)) return text + "\n" + error + "\n";

  // Look our sockets up by inode among the TCP sockets of this network namespace. The files list
  // every socket of the namespace, TIME_WAIT ones included (tens of thousands after a load test,
  // megabytes of text): read them a line at a time, and keep only ours.
  std::map<unsigned long, TcpSocketInfo> ours;  // inode -> what the kernel says of it
  for (const Descriptor& d : descriptors) {
    if (unsigned long inode = socket_inode(d.target)) ours[inode] = {};
  }
  for (auto [path, ipv6] : {std::pair{"/proc/self/net/tcp", false}, std::pair{"/proc/self/net/tcp6", true}}) {
    std::ifstream file(path);
    std::string line;
    std::getline(file, line);  // the heading
    while (std::getline(file, line)) {
      auto info = parse_proc_net_tcp_line(line, ipv6);
      if (info && ours.count(info->inode)) ours[info->inode] = *info;
    }
  }
  text += "\nfd   points to                 TCP state     local                  foreign\n";
  for (const Descriptor& d : descriptors) {
    char line[512];
    std::snprintf(line, sizeof line, "%-4d %-25s", d.fd, d.target.c_str());
    text += line;
    auto found = ours.find(socket_inode(d.target));
    if (found != ours.end() && !found->second.state.empty()) {  // a TCP socket (not a Unix one)
      const TcpSocketInfo& tcp = found->second;
      std::snprintf(line, sizeof line, " %-13s %-22s %s", tcp.state.c_str(), tcp.local.c_str(),
                    tcp.remote.c_str());
      text += line;
      if (tcp.state == "LISTEN") text += "  (" + std::to_string(tcp.queue) + " waiting for accept)";
    }
    while (!text.empty() && text.back() == ' ') text.pop_back();
    text += "\n";
  }
  return text;
}
