// common/log.hpp (Part 1): the servers' log, one line per event on standard output.
#pragma once

#include <cstddef>
#include <string>

#include "common/http_request.hpp"

// Print one line (a newline is added) with a single write(2). One write per line keeps the lines
// of a parent and its children (Part 5) from interleaving, and unlike stdio it is not left with
// half-flushed buffers that fork() would copy into every child.
void log_line(const char* format, ...) __attribute__((format(printf, 1, 2)));

// A set-up step failed (socket, bind, listen, ...): print "server: bind: Address already in use"
// (the call and strerror(errno)) to standard error and exit with status 1.
[[noreturn]] void die_errno(const char* call);
// Print "server: <message>" to standard error and exit with `status`.
[[noreturn]] void die(const std::string& message, int status = 1);

// The access-log line of one request:  127.0.0.1:54321 "GET /hello HTTP/1.1" 200 13
void log_request(const std::string& client, const Request& request, int status, std::size_t body_bytes);
