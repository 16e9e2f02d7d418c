// common/connection.cpp (Part 1)
#include "common/connection.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace {

using Clock = std::chrono::steady_clock;

// Wait until `fd` is ready for `events` or `deadline` passes: 1 ready, 0 timed out, -1 error.
int wait_until(int fd, short events, Clock::time_point deadline) {
  while (true) {
    // Rounded up: poll() counts whole milliseconds, and must not give up before the deadline.
    auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return 0;
    pollfd p{fd, events, 0};
    int ready = poll(&p, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;  // a signal handler ran (Part 6): wait for what is left
    if (ready == 0) continue;                   // timed out: the check above says so, to the tick
    return ready;
  }
}

}  // namespace

ReadResult read_request(int fd, RequestParser& parser, const Timeouts& timeouts, std::string* raw) {
  const Clock::time_point start = Clock::now();
  bool sent_continue = false;
  char buffer[16 * 1024];
  while (true) {
    Clock::time_point deadline = start + (parser.started() ? timeouts.request : timeouts.first_byte);
    // Read what has arrived, without waiting (MSG_DONTWAIT): a client usually sends its request
    // along with the connection, and then no poll() is needed. Only when nothing is there yet
    // (EAGAIN) does poll() wait, for the time left. The deadline is checked first either way: a
    // request that is late is late even if its bytes are waiting.
    int ready = Clock::now() < deadline ? 1 : 0;  // as wait_until() decides it, to the tick
    ssize_t n = ready == 1 ? recv(fd, buffer, sizeof buffer, MSG_DONTWAIT) : -1;
    if (ready == 1 && n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      ready = wait_until(fd, POLLIN, deadline);
      if (ready == 1) n = recv(fd, buffer, sizeof buffer, MSG_DONTWAIT);
    }
    if (ready == 0 && !parser.started()) return {ReadStatus::Gone, 0, "sent nothing; closing the connection"};
    if (ready == 0) return {ReadStatus::Bad, 408, "the request did not arrive in time"};
    if (ready < 0) return {ReadStatus::Gone, 0, std::string("poll: ") + std::strerror(errno)};

    // One recv() returns whatever has arrived, which may be part of a request or more than one:
    // the parser, not the size of a read, decides where the request ends. (EAGAIN after poll():
    // a spurious wake-up; wait again.)
    if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) continue;
    if (n < 0) return {ReadStatus::Gone, 0, std::string("recv: ") + std::strerror(errno)};
    if (n == 0 && !parser.started()) return {ReadStatus::Gone, 0, "closed without sending a request"};
    if (n == 0) return {ReadStatus::Bad, 400, "connection closed in the middle of the request"};
    if (raw) raw->append(buffer, static_cast<std::size_t>(n));

    switch (parser.feed(std::string_view(buffer, static_cast<std::size_t>(n)))) {
      case ParseState::Complete: return {ReadStatus::Complete, 0, ""};
      case ParseState::Malformed: return {ReadStatus::Bad, parser.error_status(), parser.error_detail()};
      case ParseState::NeedMore: break;
    }
    if (!sent_continue && parser.expects_continue()) {
      sent_continue = true;
      if (!write_all(fd, "HTTP/1.1 100 Continue\r\n\r\n", timeouts.write)) {
        return {ReadStatus::Gone, 0, std::string("send: ") + std::strerror(errno)};
      }
    }
  }
}

bool write_all(int fd, std::string_view bytes, std::chrono::milliseconds timeout) {
  const Clock::time_point deadline = Clock::now() + timeout;
  while (!bytes.empty()) {
    // MSG_NOSIGNAL: writing to a connection the peer has closed would otherwise raise SIGPIPE,
    // whose default action kills the whole server. MSG_DONTWAIT: never block inside send();
    // poll() below does the waiting, so that the deadline holds.
    ssize_t n = send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n >= 0) {
      bytes.remove_prefix(static_cast<std::size_t>(n));  // a short write: send the rest
      continue;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return false;
    int ready = wait_until(fd, POLLOUT, deadline);
    if (ready == 0) errno = ETIMEDOUT;
    if (ready <= 0) return false;
  }
  return true;
}

bool send_response(int fd, const Response& response, const Timeouts& timeouts, bool include_body) {
  return write_all(fd, serialize_response(response, include_body), timeouts.write);
}

void drain_before_close(int fd, const Timeouts& timeouts) {
  shutdown(fd, SHUT_WR);
  const Clock::time_point deadline = Clock::now() + timeouts.drain;
  char buffer[16 * 1024];
  while (wait_until(fd, POLLIN, deadline) > 0) {
    ssize_t n = recv(fd, buffer, sizeof buffer, 0);
    if (n == 0 || (n < 0 && errno != EINTR)) return;
  }
}
