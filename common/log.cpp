// common/log.cpp (Part 1)
#include "common/log.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>

void log_line(const char* format, ...) {
  // Formatted once, into a buffer on the stack that holds any ordinary line; only a longer one
  // (Part 4's descriptor table) is formatted a second time, into a string of its size.
  char small[1024];
  va_list args;
  va_start(args, format);
  va_list again;
  va_copy(again, args);
  int n = std::vsnprintf(small, sizeof small - 1, format, args);  // room left for the newline
  va_end(args);
  std::string large;
  char* line = small;
  if (n < 0) n = 0;
  if (static_cast<std::size_t>(n) >= sizeof small - 1) {
    large.resize(static_cast<std::size_t>(n) + 1);
    std::vsnprintf(large.data(), large.size(), format, again);
    line = large.data();
  }
  va_end(again);
  line[n] = '\n';  // over the terminating NUL
  std::size_t size = static_cast<std::size_t>(n) + 1;
  for (std::size_t done = 0; done < size;) {  // write() may be cut short or interrupted
    ssize_t written = ::write(STDOUT_FILENO, line + done, size - done);
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) return;
    done += static_cast<std::size_t>(written);
  }
}

void log_request(const std::string& client, const Request& request, int status, std::size_t body_bytes) {
  if (request.method.empty()) {  // the request line itself was not understood
    log_line("%s \"-\" %d %zu", client.c_str(), status, body_bytes);
    return;
  }
  constexpr int kMaxTarget = 200;  // keep a hostile 8 KiB target from flooding the log
  log_line("%s \"%s %.*s%s %s\" %d %zu", client.c_str(), request.method.c_str(), kMaxTarget,
           request.target.c_str(), request.target.size() > kMaxTarget ? "..." : "", request.version.c_str(),
           status, body_bytes);
}

void die_errno(const char* call) {
  die(std::string(call) + ": " + std::strerror(errno));
}

void die(const std::string& message, int status) {
  std::fprintf(stderr, "server: %s\n", message.c_str());
  std::exit(status);
}
