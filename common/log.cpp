// common/log.cpp (Part 1)
#include "common/log.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>

void log_line(const char* format, ...) {
  va_list args;
  va_start(args, format);
  va_list again;
  va_copy(again, args);
  int n = std::vsnprintf(nullptr, 0, format, args);
  va_end(args);
  std::string line(n > 0 ? static_cast<std::size_t>(n) : 0, '\0');
  if (n > 0) std::vsnprintf(line.data(), line.size() + 1, format, again);
  va_end(again);
  line += '\n';
  for (std::size_t done = 0; done < line.size();) {  // write() may be cut short or interrupted
    ssize_t written = ::write(STDOUT_FILENO, line.data() + done, line.size() - done);
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
