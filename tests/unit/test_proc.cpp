// tests/unit/test_proc.cpp: reading /proc/net/tcp and the descriptor table (common/proc.cpp).
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "common/proc.hpp"
#include "common/unique_fd.hpp"

namespace {

// Recorded from a little-endian x86-64 machine: the kernel prints each 32-bit word of an address
// in the host's byte order, so these lines mean what the tests say only on such a host.
constexpr bool kLittleEndian = __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__;

const char* kTcp4 =
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
    "   0: 0100007F:22B8 00000000:0000 0A 00000000:00000002 00:00000000 00000000     0        0 24120 1 "
    "0000000000000000 100 0 0 10 0\n"
    "   1: 0100007F:22B8 0100007F:9790 01 00000000:00000000 00:00000000 00000000     0        0 24131 1 "
    "0000000000000000 20 4 30 10 -1\n"
    "   2: 0100007F:C1F6 0100007F:477F 06 00000000:00000000 03:00000000 00000000     0        0 0 3 "
    "0000000000000000\n"
    "   3: 0B01A8C0:0050 2201A8C0:D431 08 00000000:00000001 00:00000000 00000000  1000        0 31337 1 "
    "0000000000000000 20 4 0 10 -1\n"
    "   4: this line is broken\n";

const char* kTcp6 =
    "  sl  local_address                         remote_address                        st tx_queue rx_queue "
    "tr "
    "tm->when retrnsmt   uid  timeout inode\n"
    "   0: 00000000000000000000000001000000:22B9 00000000000000000000000000000000:0000 0A 00000000:00000000 "
    "00:00000000 00000000     0        0 25024 1 0000000000000000 100 0 0 10 0\n"
    "   1: 0000000000000000FFFF00000100007F:22B9 0000000000000000FFFF00000100007F:BD3E 01 00000000:00000000 "
    "00:00000000 00000000     0        0 25035 1 0000000000000000 20 4 30 10 -1\n";

// The lines of a /proc/net/tcp text that parse, the heading and broken lines skipped.
std::vector<TcpSocketInfo> parse_lines(const char* text, bool ipv6) {
  std::vector<TcpSocketInfo> sockets;
  std::string_view rest = text;
  while (!rest.empty()) {
    std::size_t end = rest.find('\n');
    if (auto info = parse_proc_net_tcp_line(rest.substr(0, end), ipv6)) sockets.push_back(*info);
    rest.remove_prefix(end == std::string_view::npos ? rest.size() : end + 1);
  }
  return sockets;
}

}  // namespace

TEST_CASE("IPv4 lines of /proc/net/tcp: addresses in host byte order, hex ports, states, inodes" *
          doctest::skip(!kLittleEndian)) {
  std::vector<TcpSocketInfo> sockets = parse_lines(kTcp4, false);
  REQUIRE(sockets.size() == 4);  // the heading and the broken line are skipped
  CHECK(sockets[0].inode == 24120);
  CHECK(sockets[0].state == "LISTEN");
  CHECK(sockets[0].local == "127.0.0.1:8888");
  CHECK(sockets[0].remote == "0.0.0.0:*");
  CHECK(sockets[0].queue == 2);  // for LISTEN: connections waiting for accept()
  CHECK(sockets[1].state == "ESTABLISHED");
  CHECK(sockets[1].remote == "127.0.0.1:38800");
  CHECK(sockets[2].state == "TIME_WAIT");
  CHECK(sockets[2].inode == 0);  // a TIME_WAIT entry belongs to no process any more
  CHECK(sockets[3].local == "192.168.1.11:80");
  CHECK(sockets[3].remote == "192.168.1.34:54321");
  CHECK(sockets[3].state == "CLOSE_WAIT");
}

TEST_CASE("IPv6 lines of /proc/net/tcp6: four words, IPv4-mapped addresses" * doctest::skip(!kLittleEndian)) {
  std::vector<TcpSocketInfo> sockets = parse_lines(kTcp6, true);
  REQUIRE(sockets.size() == 2);
  CHECK(sockets[0].local == "[::1]:8889");
  CHECK(sockets[0].remote == "[::]:*");
  CHECK(sockets[0].state == "LISTEN");
  CHECK(sockets[1].local == "[::ffff:127.0.0.1]:8889");
  CHECK(sockets[1].remote == "[::ffff:127.0.0.1]:48446");
  CHECK(sockets[1].inode == 25035);
}

TEST_CASE("an IPv4 line given as IPv6 (or the reverse) is skipped, not misread") {
  CHECK(parse_lines(kTcp4, true).empty());
  CHECK(parse_lines(kTcp6, false).empty());
  CHECK(!parse_proc_net_tcp_line("", false));
}

TEST_CASE("a descriptor is described by what /proc/self/fd links it to, and as closed after close") {
  UniqueFd sock(socket(AF_INET, SOCK_STREAM, 0));
  REQUIRE(sock);
  CHECK(describe_descriptor(sock.get()).rfind(std::to_string(sock.get()) + " -> socket:[", 0) == 0);
  int number = sock.get();
  sock.reset();
  CHECK(describe_descriptor(number) == std::to_string(number) + " -> (closed)");
}

TEST_CASE("the descriptor table lists 0, 1, 2, then each descriptor, and none after it is closed") {
  UniqueFd sock(socket(AF_INET, SOCK_STREAM, 0));
  REQUIRE(sock);
  auto row_of = [](const std::string& table, int fd) {
    std::size_t at = table.find("\n" + std::to_string(fd) + " ");
    return at == std::string::npos ? std::string() : table.substr(at + 1, table.find('\n', at + 1) - at - 1);
  };
  std::string table = descriptor_table(5);
  for (int fd : {0, 1, 2}) CHECK(!row_of(table, fd).empty());
  CHECK(row_of(table, sock.get()).find("socket:[") != std::string::npos);
  int number = sock.get();
  sock.reset();
  CHECK(row_of(descriptor_table(5), number).empty());
}

TEST_CASE("the descriptor table shows the limit, the backlog and a listening socket in LISTEN state") {
  UniqueFd sock(socket(AF_INET, SOCK_STREAM, 0));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(bind(sock.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  REQUIRE(listen(sock.get(), 5) == 0);
  std::string table = descriptor_table(5);
  CHECK(table.find("RLIMIT_NOFILE") != std::string::npos);
  CHECK(table.find("Listen backlog: 5 asked for, 5 in effect") != std::string::npos);
  std::string line = table.substr(table.find("\n" + std::to_string(sock.get()) + " ") + 1);
  line = line.substr(0, line.find('\n'));
  CHECK(line.find("LISTEN") != std::string::npos);
  CHECK(line.find("127.0.0.1:") != std::string::npos);
}
