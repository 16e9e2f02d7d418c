// common/connection.hpp (Part 1): reading one request from a connected socket and writing the
// answer, with the timeouts and error handling that a server facing real clients needs.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "common/http_request.hpp"
#include "common/http_response.hpp"

// How long one connection may take at each step. These defaults are the servers'; each server's
// command line may change the first three (--first-byte-timeout, --request-timeout, --write-timeout).
struct Timeouts {
  // A connection that sends nothing at all (a browser's speculative preconnect, a port scanner)
  // is closed quietly after this long, so that it cannot hold an iterative server.
  std::chrono::milliseconds first_byte{2000};
  // The whole request must arrive within this long, or the client gets 408 (the slowloris defence).
  std::chrono::milliseconds request{10000};
  // A client that does not take its answer is given up on after this long.
  std::chrono::milliseconds write{10000};
  // After an error answer, what the client still sends is read and dropped for at most this long.
  std::chrono::milliseconds drain{1000};
};

enum class ReadStatus {
  Complete,  // a whole request is in the parser
  Bad,       // answer `http_status`: malformed (400, 413, ...), too slow (408), cut short (400)
  Gone,      // nothing to answer: the client sent nothing, or the connection failed
};

struct ReadResult {
  ReadStatus status;
  int http_status = 0;
  std::string detail;  // for the log and the error answer
};

// Read from `fd` into `parser` until it holds a whole request, or says why not. Answers
// "Expect: 100-continue" with an interim 100 response so that such clients send their body.
// Every byte read is also appended to `raw`, if given (to print the request as it came).
ReadResult read_request(int fd, RequestParser& parser, const Timeouts& timeouts, std::string* raw = nullptr);

// Write all of `bytes`, carrying on after short writes and EINTR, never raising SIGPIPE (a peer
// that went away is an error return, not the death of the server), and giving up after
// `timeout`. Returns false on failure, with errno set.
bool write_all(int fd, std::string_view bytes, std::chrono::milliseconds timeout);

// Send `response` (its body only if `include_body`). Returns false if the client went away.
bool send_response(int fd, const Response& response, const Timeouts& timeouts, bool include_body = true);

// Before closing after an error answer: send FIN, then read and discard what the client is still
// sending, for at most timeouts.drain. Closing a socket with unread bytes in it makes the kernel
// send RST, which can destroy our answer before the client has read it.
void drain_before_close(int fd, const Timeouts& timeouts);
