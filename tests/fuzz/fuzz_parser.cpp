// tests/fuzz/fuzz_parser.cpp: libFuzzer target for RequestParser (common/http_request.cpp).
//
// Each input is a byte stream from a client. It is fed three ways: whole, one byte at a time, and
// in pieces whose sizes come from a hash of the input. The parser must reach the same verdict every
// way (it must not matter how recv() happened to cut the stream), and the verdict must keep the
// promises the servers rely on. A broken promise aborts, and libFuzzer saves the input.
//
//   make fuzz                 build and run both targets (see the Makefile)
//   build/fuzz/fuzz_parser tests/fuzz/out/crash-...   replay one saved input
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/http_request.hpp"

namespace {

// Stop with a message: libFuzzer reports the input that got here as a crash.
void check(bool ok, const char* promise) {
  if (!ok) {
    std::fprintf(stderr, "broken promise: %s\n", promise);
    std::abort();
  }
}

RequestParser feed_whole(std::string_view input) {
  RequestParser parser;
  parser.feed(input);
  return parser;
}

RequestParser feed_byte_by_byte(std::string_view input) {
  RequestParser parser;
  for (std::size_t i = 0; i < input.size(); ++i) parser.feed(input.substr(i, 1));
  return parser;
}

// Pieces of 0 to 63 bytes (a zero-byte feed must change nothing), sizes from a small PRNG.
RequestParser feed_in_pieces(std::string_view input, std::uint64_t seed) {
  RequestParser parser;
  while (!input.empty()) {
    seed ^= seed << 13;
    seed ^= seed >> 7;
    seed ^= seed << 17;
    std::size_t size = std::min<std::size_t>(seed % 64, input.size());
    parser.feed(input.substr(0, size));
    input.remove_prefix(size);
  }
  return parser;
}

std::uint64_t hash(std::string_view input) {  // FNV-1a
  std::uint64_t h = 14695981039346656037ull;
  for (char c : input) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  return h | 1;  // never 0, which would stall the PRNG
}

bool same_request(const Request& a, const Request& b) {
  if (a.method != b.method || a.target != b.target || a.path != b.path || a.query != b.query ||
      a.version != b.version || a.authority != b.authority || a.body != b.body ||
      a.headers.size() != b.headers.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.headers.size(); ++i) {
    if (a.headers[i].name != b.headers[i].name || a.headers[i].value != b.headers[i].value) return false;
  }
  return true;
}

bool same_verdict(const RequestParser& a, const RequestParser& b) {
  if (a.state() != b.state() || a.error_status() != b.error_status()) return false;
  if (a.state() != ParseState::Complete) return true;
  return a.excess_bytes() == b.excess_bytes() && same_request(a.request(), b.request());
}

bool has_line_break_or_nul(std::string_view s) {
  return s.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
}

// What a complete request promises to whoever reads it: the server, build_environ, an app.
void check_complete_request(const RequestParser& parser) {
  const Request& r = parser.request();
  check(parser.error_status() == 0 && parser.error_detail().empty(), "a complete request has no error");
  check(r.body.size() <= kMaxBodyBytes, "the body is within kMaxBodyBytes");
  check(is_token(r.method), "the method is a token");
  check(r.version.size() == 8 && r.version.substr(0, 7) == "HTTP/1.", "the version is HTTP/1.x");
  check(r.path == "*" || (!r.path.empty() && r.path.front() == '/'), "the path starts with '/' or is '*'");
  check(!has_line_break_or_nul(r.target), "the target holds no CR, LF or NUL");
  check(r.headers.size() <= kMaxHeaderCount, "at most kMaxHeaderCount fields");
  std::size_t hosts = 0;
  for (const Header& h : r.headers) {
    check(is_token(h.name), "every field name is a token");
    check(!has_line_break_or_nul(h.value), "no field value holds CR, LF or NUL");
    bool padded = !h.value.empty() && (h.value.front() == ' ' || h.value.front() == '\t' ||
                                       h.value.back() == ' ' || h.value.back() == '\t');
    check(!padded, "field values are trimmed");
    hosts += iequals(h.name, "Host");
  }
  check(hosts <= 1, "at most one Host");
  check(r.version != "HTTP/1.1" || hosts == 1, "an HTTP/1.1 request has exactly one Host");
  auto length = r.header("Content-Length");
  check(!(length && r.header("Transfer-Encoding")), "never both Content-Length and Transfer-Encoding");
  if (length) {
    std::string digits = length->substr(0, length->find(','));
    check(std::strtoull(digits.c_str(), nullptr, 10) == r.body.size(), "the body is Content-Length long");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  RequestParser whole = feed_whole(input);

  // How the stream was cut into reads must not matter.
  check(same_verdict(whole, feed_byte_by_byte(input)), "fed byte by byte, the verdict is the same");
  check(same_verdict(whole, feed_in_pieces(input, hash(input))), "fed in pieces, the verdict is the same");

  check(whole.excess_bytes() <= size, "excess bytes never exceed the input");
  switch (whole.state()) {
    case ParseState::NeedMore:
      check(whole.error_status() == 0 && whole.excess_bytes() == 0, "an unfinished request has no error");
      break;
    case ParseState::Malformed: {
      int s = whole.error_status();
      check(s == 400 || s == 413 || s == 414 || s == 431 || s == 501 || s == 505, "a known error status");
      check(!whole.error_detail().empty(), "every error says why");
      check(whole.excess_bytes() == 0, "a malformed request counts no excess");
      break;
    }
    case ParseState::Complete: {
      check_complete_request(whole);
      // The request ends exactly where the parser says: its bytes alone are complete with nothing
      // left over, and one byte fewer is not yet a request.
      std::string_view own = input.substr(0, size - whole.excess_bytes());
      RequestParser again = feed_whole(own);
      check(again.state() == ParseState::Complete && again.excess_bytes() == 0,
            "the request's own bytes complete it");
      check(same_request(again.request(), whole.request()), "and give the same request");
      check(feed_whole(own.substr(0, own.size() - 1)).state() == ParseState::NeedMore,
            "one byte fewer is not yet complete");
      break;
    }
  }

  // Once decided, the verdict stands whatever else arrives.
  if (whole.state() != ParseState::NeedMore) {
    ParseState before = whole.state();
    std::size_t excess = whole.excess_bytes();
    whole.feed("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    check(whole.state() == before, "more bytes never change a decided verdict");
    check(before != ParseState::Complete || whole.excess_bytes() == excess + 27, "and count as excess");
  }
  return 0;
}
