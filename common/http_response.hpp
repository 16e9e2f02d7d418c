// common/http_response.hpp (Part 1): building an HTTP/1.1 response (RFC 9112 4, RFC 9110 6).
//
// Every response these servers send carries a status line, Content-Type, Content-Length, Date,
// Server and "Connection: close" (each connection serves one request). Without the blank line
// after the headers curl refuses the answer and browsers show nothing.
#pragma once

#include <ctime>
#include <string>
#include <string_view>
#include <vector>

#include "common/http_request.hpp"

constexpr std::string_view kServerSoftware = "CppWebCourse/1.0";
constexpr std::string_view kTextPlain = "text/plain; charset=utf-8";

struct Response {
  int status = 200;
  std::string reason;           // empty: the standard phrase for `status`
  std::vector<Header> headers;  // Content-Type and the like; see serialize_response()
  std::string body;
  // No Content-Length: the body ends where the connection does (RFC 9112 6.3, rule 8), as the
  // first servers of the Web answered. Part 5 shows what that costs when a close never comes.
  bool close_delimited = false;
};

// A response with a plain-text body.
Response text_response(int status, std::string body);

// The one error answer of every stage: "404 Not Found: /nowhere", a line of plain text.
Response error_response(int status, std::string_view detail);

// The reason phrase of a status code the servers answer themselves ("Not Found"), or "Unknown".
std::string_view reason_phrase(int status);

// The IMF-fixdate of RFC 9110 5.6.7, as in "Sun, 06 Nov 1994 08:49:37 GMT".
std::string http_date(std::time_t when);

// The response as bytes on the wire: the status line, the response's own headers, then
// Content-Length (but not on 204 and 304, nor when close-delimited), Date and Server, each unless
// already there, and Connection: close, a blank line, and the body unless `include_body` is false
// (an answer to HEAD, RFC 9110 9.3.2).
std::string serialize_response(const Response& response, bool include_body = true);
