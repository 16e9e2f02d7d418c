// tests/unit/test_http_response.cpp: the response builder and the HTTP date.
#include <doctest/doctest.h>

#include <string>

#include "common/http_response.hpp"

TEST_CASE("http_date writes the IMF-fixdate of RFC 9110 5.6.7") {
  CHECK(http_date(784111777) == "Sun, 06 Nov 1994 08:49:37 GMT");  // the RFC's own example
  CHECK(http_date(0) == "Thu, 01 Jan 1970 00:00:00 GMT");
  CHECK(http_date(951782400) == "Tue, 29 Feb 2000 00:00:00 GMT");  // a leap day
  CHECK(http_date(4102444799) == "Thu, 31 Dec 2099 23:59:59 GMT");
}

TEST_CASE("a response carries status line, Content-Type, Content-Length, Date, Server, Connection") {
  std::time_t before = std::time(nullptr);
  std::string wire = serialize_response(text_response(200, "Hello, World!"));
  std::time_t after = std::time(nullptr);
  CHECK(wire.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  CHECK(wire.find("\r\nContent-Type: text/plain; charset=utf-8\r\n") != std::string::npos);
  CHECK(wire.find("\r\nContent-Length: 13\r\n") != std::string::npos);
  CHECK(wire.find("\r\nServer: CppWebCourse/1.0\r\n") != std::string::npos);
  CHECK(wire.find("\r\nConnection: close\r\n") != std::string::npos);
  std::size_t at = wire.find("\r\nDate: ");
  REQUIRE(at != std::string::npos);
  std::string date = wire.substr(at + 8, wire.find("\r\n", at + 2) - at - 8);
  CHECK((date == http_date(before) || date == http_date(after)));  // now, to the second

  CHECK(wire.substr(wire.size() - 17) == "\r\n\r\nHello, World!");
}

TEST_CASE("without the body (HEAD), Content-Length still gives the body's size") {
  std::string wire = serialize_response(text_response(200, "Hello, World!"), false);
  CHECK(wire.find("Content-Length: 13\r\n") != std::string::npos);
  CHECK(wire.substr(wire.size() - 4) == "\r\n\r\n");
}

TEST_CASE("a Content-Length given by the caller is not doubled") {
  Response response = text_response(200, "abc");
  response.headers.push_back({"content-length", "3"});
  std::string wire = serialize_response(response);
  CHECK(wire.find("Content-Length") == std::string::npos);
  CHECK(wire.find("content-length: 3\r\n") != std::string::npos);
}

TEST_CASE("204 and 304 go without a Content-Length of the server's making (RFC 9110 8.6)") {
  Response response = text_response(204, "");
  response.reason = "No Content";  // as an app gives it: the servers never answer 204 themselves
  std::string no_content = serialize_response(response);
  CHECK(no_content.rfind("HTTP/1.1 204 No Content\r\n", 0) == 0);
  CHECK(no_content.find("Content-Length") == std::string::npos);
  CHECK(serialize_response(text_response(304, "")).find("Content-Length") == std::string::npos);
  CHECK(serialize_response(text_response(200, "")).find("Content-Length: 0\r\n") != std::string::npos);
}

TEST_CASE("reason phrases: standard ones, a custom one, and unknown codes") {
  CHECK(reason_phrase(404) == "Not Found");
  CHECK(reason_phrase(431) == "Request Header Fields Too Large");
  CHECK(reason_phrase(299) == "Unknown");
  Response response = text_response(200, "");
  response.reason = "Fine";
  CHECK(serialize_response(response).rfind("HTTP/1.1 200 Fine\r\n", 0) == 0);
}

TEST_CASE("a close-delimited response has no Content-Length: the close ends the body (RFC 9112 6.3)") {
  Response response = text_response(200, "Hello, World!");
  response.close_delimited = true;
  std::string wire = serialize_response(response);
  CHECK(wire.find("Content-Length") == std::string::npos);
  CHECK(wire.find("Connection: close\r\n\r\nHello, World!") != std::string::npos);
}
