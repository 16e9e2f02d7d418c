// tests/fuzz/fuzz_environ.cpp: libFuzzer target for build_environ (common/gateway.cpp) fed by the
// parser: whatever a client sends, the environ an app receives must keep CGI's promises.
//
// The input is parsed whole; a complete request is turned into an environ, which is then checked.
// A broken promise aborts, and libFuzzer saves the input.   make fuzz   (see the Makefile)
#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/gateway.hpp"
#include "common/gateway_app.hpp"
#include "common/http_request.hpp"
#include "common/net.hpp"

namespace {

void check(bool ok, const char* promise) {
  if (!ok) {
    std::fprintf(stderr, "broken promise: %s\n", promise);
    std::abort();
  }
}

SocketAddress address(const char* ip, int port) {
  SocketAddress a;
  std::string error;
  check(resolve_address(ip, port, a, error), "the test's own addresses resolve");
  return a;
}

bool has_line_break_or_nul(std::string_view s) {
  return s.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
}

bool is_lower(char c) {
  return c >= 'a' && c <= 'z';
}

// SERVER_NAME is a host without its port: a name or IPv4 address, or an IPv6 literal in brackets.
bool is_plain_host(std::string_view name) {
  if (name.empty() || name.find_first_of("/@ \t") != std::string_view::npos) return false;
  if (name.front() == '[') return name.back() == ']' && name.find(']') == name.size() - 1;
  return name.find_first_of(":[]") == std::string_view::npos;
}

void check_environ(const Request& request, const Environ& environ) {
  for (const auto& [name, value] : environ) {
    if (name.starts_with("HTTP_")) {
      check(name.find('-') == std::string::npos, "HTTP_* names have '_' for '-'");
      check(std::none_of(name.begin(), name.end(), is_lower), "HTTP_* names are upper-case");
      check(name != "HTTP_CONTENT_TYPE" && name != "HTTP_CONTENT_LENGTH", "those two are CONTENT_*");
    }
    // The body is any bytes, and PATH_INFO is the path with %XX decoded; nothing else can hold a
    // line break, since the parser refused one in the request line and the fields.
    if (name != "gateway.input" && name != "PATH_INFO") {
      check(!has_line_break_or_nul(value), "no variable but the body and PATH_INFO holds CR, LF or NUL");
    }
  }
  check(environ.at("REQUEST_METHOD") == request.method, "REQUEST_METHOD is the method");
  check(environ.at("QUERY_STRING") == request.query, "QUERY_STRING is the query as sent");
  check(environ.at("SERVER_PROTOCOL") == request.version, "SERVER_PROTOCOL is the version");
  check(environ.at("PATH_INFO") == percent_decode(request.path), "PATH_INFO is the decoded path");
  check(is_plain_host(environ.at("SERVER_NAME")), "SERVER_NAME is a host without a port");
  check(environ.at("SERVER_PORT") == "8888", "SERVER_PORT is the server's port");
  check(environ.at("gateway.input") == request.body, "gateway.input is the body");
  bool framed = request.header("Content-Length") || request.header("Transfer-Encoding");
  check(environ.count("CONTENT_LENGTH") == (framed ? 1u : 0u),
        "CONTENT_LENGTH exactly when a body was framed");
  if (framed)
    check(environ.at("CONTENT_LENGTH") == std::to_string(request.body.size()), "of the decoded body");

  // Every field reaches the app but the two CONTENT_* ones and names with '_': an HTTP_* variable
  // exists exactly when a field without '_' maps to it ("X_A" must not pose as "X-A").
  std::map<std::string, std::vector<std::string>> expected;  // key -> the values that make it
  for (const Header& h : request.headers) {
    if (iequals(h.name, "Content-Type") || iequals(h.name, "Content-Length")) continue;
    if (h.name.find('_') != std::string::npos) continue;
    std::string key = "HTTP_";
    for (char c : h.name)
      key += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    expected[key].push_back(h.value);
  }
  for (const auto& [name, value] : environ) {
    if (name.starts_with("HTTP_")) check(expected.count(name) == 1, "no HTTP_* variable but from a field");
  }
  for (const auto& [key, values] : expected) {
    check(environ.count(key) == 1, "an HTTP_* variable for every field without '_'");
    for (const std::string& v : values) check(environ.at(key).find(v) != std::string::npos, "with its value");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const SocketAddress server = address("127.0.0.1", 8888);
  static const SocketAddress client = address("127.0.0.1", 40000);
  RequestParser parser;
  if (parser.feed(std::string_view(reinterpret_cast<const char*>(data), size)) != ParseState::Complete)
    return 0;
  check_environ(parser.request(), build_environ(parser.request(), server, client));
  return 0;
}
