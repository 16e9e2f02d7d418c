// tests/unit/test_connection.cpp: reading requests and writing answers over a real socket pair.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/socket.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <string>
#include <thread>

#include "common/connection.hpp"
#include "common/unique_fd.hpp"

namespace {

struct SocketPair {
  UniqueFd server, client;
  SocketPair() {
    int fds[2];
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
    server.reset(fds[0]);
    client.reset(fds[1]);
  }
};

std::string read_all(int fd) {
  std::string out;
  char buffer[4096];
  ssize_t n;
  while ((n = read(fd, buffer, sizeof buffer)) > 0) out.append(buffer, static_cast<std::size_t>(n));
  return out;
}

}  // namespace

TEST_CASE("read_request assembles a request that arrives in pieces") {
  SocketPair pair;
  std::thread writer([&] {
    for (const char* piece : {"GET /he", "llo HTTP/1.1\r\nHo", "st: h\r\n", "\r\n"}) {
      (void)!write(pair.client.get(), piece, std::strlen(piece));
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });
  RequestParser parser;
  ReadResult got = read_request(pair.server.get(), parser, Timeouts{});
  writer.join();
  CHECK(got.status == ReadStatus::Complete);
  CHECK(parser.request().path == "/hello");
}

TEST_CASE("read_request reports a malformed request with the status to answer") {
  SocketPair pair;
  std::string bad = "GET / HTTP/1.1\r\nHost : h\r\n\r\n";
  REQUIRE(write(pair.client.get(), bad.data(), bad.size()) == static_cast<ssize_t>(bad.size()));
  RequestParser parser;
  ReadResult got = read_request(pair.server.get(), parser, Timeouts{});
  CHECK(got.status == ReadStatus::Bad);
  CHECK(got.http_status == 400);
}

TEST_CASE("a client that closes without a byte is Gone; one that stops mid-request is Bad") {
  SocketPair silent;
  silent.client.reset();
  RequestParser parser;
  CHECK(read_request(silent.server.get(), parser, Timeouts{}).status == ReadStatus::Gone);

  SocketPair partial;
  REQUIRE(write(partial.client.get(), "GET / HT", 8) == 8);
  partial.client.reset();
  RequestParser parser2;
  ReadResult got = read_request(partial.server.get(), parser2, Timeouts{});
  CHECK(got.status == ReadStatus::Bad);
  CHECK(got.http_status == 400);
}

TEST_CASE("Expect: 100-continue is answered with an interim response before the body is read") {
  SocketPair pair;
  std::string head = "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n";
  REQUIRE(write(pair.client.get(), head.data(), head.size()) == static_cast<ssize_t>(head.size()));
  std::thread client([&] {
    char buffer[64] = {};
    ssize_t n = read(pair.client.get(), buffer, sizeof buffer - 1);
    CHECK(std::string(buffer, n > 0 ? static_cast<std::size_t>(n) : 0) == "HTTP/1.1 100 Continue\r\n\r\n");
    (void)!write(pair.client.get(), "body", 4);
  });
  RequestParser parser;
  ReadResult got = read_request(pair.server.get(), parser, Timeouts{});
  client.join();
  CHECK(got.status == ReadStatus::Complete);
  CHECK(parser.request().body == "body");
}

TEST_CASE("write_all sends everything even when the socket takes it in small pieces") {
  SocketPair pair;
  int small = 4096;
  setsockopt(pair.server.get(), SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
  std::string big(1 << 20, 'x');
  for (std::size_t i = 0; i < big.size(); i += 997) big[i] = static_cast<char>('a' + i % 26);
  std::string received;
  std::thread reader([&] { received = read_all(pair.client.get()); });
  CHECK(write_all(pair.server.get(), big, Timeouts{}.write));
  pair.server.reset();
  reader.join();
  CHECK(received == big);
}

TEST_CASE("write_all to a peer that is gone fails with EPIPE instead of raising SIGPIPE") {
  SocketPair pair;
  pair.client.reset();
  // With SIGPIPE at its default action this process would die here if MSG_NOSIGNAL were missing.
  std::signal(SIGPIPE, SIG_DFL);
  errno = 0;
  CHECK_FALSE(write_all(pair.server.get(), "anything", Timeouts{}.write));
  CHECK(errno == EPIPE);
}

TEST_CASE("error_response is a plain-text line naming the status and the reason") {
  Response response = error_response(404, "/nowhere");
  CHECK(response.status == 404);
  CHECK(response.body == "404 Not Found: /nowhere\n");
}

TEST_CASE("the timeouts: silence closes quietly, an unfinished request is 408, both from the start") {
  Timeouts quick;
  quick.first_byte = std::chrono::milliseconds(100);
  quick.request = std::chrono::milliseconds(300);

  SocketPair silent;  // connected, and never a byte
  RequestParser parser;
  auto started = std::chrono::steady_clock::now();
  ReadResult got = read_request(silent.server.get(), parser, quick);
  CHECK(got.status == ReadStatus::Gone);
  CHECK(std::chrono::steady_clock::now() - started >= quick.first_byte);

  SocketPair slow;  // a byte now and then: the request timeout counts from the start, not the last byte
  std::thread writer([&] {
    for (char c : std::string("GET / HTTP/1.1\r\n")) {
      if (send(slow.client.get(), &c, 1, MSG_NOSIGNAL) != 1) return;  // EPIPE once the server is gone
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });
  RequestParser parser2;
  started = std::chrono::steady_clock::now();
  got = read_request(slow.server.get(), parser2, quick);
  auto took = std::chrono::steady_clock::now() - started;
  slow.server.reset();  // the writer's next write fails, and it stops
  writer.join();
  CHECK(got.status == ReadStatus::Bad);
  CHECK(got.http_status == 408);
  CHECK(took >= quick.request);
  CHECK(took < std::chrono::milliseconds(700));  // 16 bytes at 50 ms would take 800 ms
}
