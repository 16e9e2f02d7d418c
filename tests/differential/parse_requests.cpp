// tests/differential/parse_requests.cpp: RequestParser driven without a server, for the
// differential check (tests/test_differential.py), which compares its verdicts with h11's.
//
// Reads any number of inputs from stdin, each a decimal length, a newline, then that many bytes,
// and parses each as a whole stream in a fresh parser. Writes one JSON object a line per input:
//   {"verdict": "incomplete"}
//   {"verdict": "refused", "status": 400, "detail": "..."}
//   {"verdict": "complete", "method": ..., "target": ..., "version": ..., "headers": [[name,
//    value], ...], "body": ..., "excess": N}
// Strings are bytes: each byte is written as the code point of the same number (\u00e9 for 0xE9),
// so that a reader decodes the JSON and encodes the strings as Latin-1 to get the bytes back.
#include <charconv>
#include <cstdio>
#include <iostream>
#include <iterator>
#include <string>
#include <string_view>

#include "common/http_request.hpp"

namespace {

std::string json_string(std::string_view bytes) {
  std::string out = "\"";
  for (char ch : bytes) {
    auto c = static_cast<unsigned char>(ch);
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
      out += ch;
    } else {
      char escape[8];
      std::snprintf(escape, sizeof escape, "\\u%04x", c);
      out += escape;
    }
  }
  return out + "\"";
}

std::string verdict(const RequestParser& parser) {
  switch (parser.state()) {
    case ParseState::NeedMore: return R"({"verdict": "incomplete"})";
    case ParseState::Malformed:
      return R"({"verdict": "refused", "status": )" + std::to_string(parser.error_status()) +
             R"(, "detail": )" + json_string(parser.error_detail()) + "}";
    case ParseState::Complete: break;
  }
  const Request& r = parser.request();
  std::string headers;
  for (const Header& h : r.headers) {
    if (!headers.empty()) headers += ", ";
    headers += "[" + json_string(h.name) + ", " + json_string(h.value) + "]";
  }
  return R"({"verdict": "complete", "method": )" + json_string(r.method) + R"(, "target": )" +
         json_string(r.target) + R"(, "version": )" + json_string(r.version) + R"(, "headers": [)" + headers +
         R"(], "body": )" + json_string(r.body) + R"(, "excess": )" + std::to_string(parser.excess_bytes()) +
         "}";
}

}  // namespace

int main() {
  std::string in((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  std::string_view rest = in;
  while (!rest.empty()) {
    std::size_t newline = rest.find('\n');
    std::string_view digits = rest.substr(0, newline);
    std::size_t length = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), length);
    if (newline == std::string_view::npos || ec != std::errc() || end != digits.data() + digits.size() ||
        rest.size() - newline - 1 < length) {
      std::fprintf(stderr, "parse_requests: an input that is not a length, a newline and that many bytes\n");
      return 1;
    }
    rest.remove_prefix(newline + 1);
    RequestParser parser;
    parser.feed(rest.substr(0, length));
    rest.remove_prefix(length);
    std::cout << verdict(parser) << '\n';
  }
  return 0;
}
