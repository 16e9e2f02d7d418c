// common/log.cpp
#include "common/log.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>

void log_line(const char* format, ...) {
  char buffer[2048];
  va_list args;
  va_start(args, format);
  int n = std::vsnprintf(buffer, sizeof buffer - 1, format, args);
  va_end(args);
  if (n < 0) return;
  std::size_t length = std::min<std::size_t>(static_cast<std::size_t>(n), sizeof buffer - 2);
  buffer[length++] = '\n';
  for (std::size_t done = 0; done < length;) {  // write() may be cut short or interrupted
    ssize_t written = ::write(STDOUT_FILENO, buffer + done, length - done);
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
