// common/http_request.hpp (Part 1): an HTTP/1.1 request and its incremental parser (RFC 9112).
//
// The parser is fed bytes as they arrive from the socket, in pieces of any size, and answers
// one of three things: it needs more bytes, the request is complete, or the request is malformed
// (with the status code to answer). It is strict where leniency lets two programs disagree about
// where a request ends (request smuggling): see NOTES.md, "What the servers defend against".
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

// Limits. Past each one the parser stops reading and names the status to answer.
constexpr std::size_t kMaxRequestLineBytes = 8 * 1024;  // 414 URI Too Long (a method that long: 501)
constexpr std::size_t kMaxHeaderBytes = 8 * 1024;       // 431, the header section after the request line
constexpr std::size_t kMaxHeaderCount = 100;            // 431
constexpr std::size_t kMaxBodyBytes = 1024 * 1024;      // 413 Content Too Large
constexpr std::size_t kMaxChunkLineBytes = 1024;        // 400, a chunk-size line with its extensions

struct Header {
  std::string name;   // as the client spelled it; compare with iequals()
  std::string value;  // leading and trailing whitespace removed
};

struct Request {
  std::string method;           // "GET"
  std::string target;           // the request-target as sent: "/hello?x=1"
  std::string path;             // "/hello" (still percent-encoded)
  std::string query;            // "x=1" (without the '?')
  std::string version;          // "HTTP/1.1"
  std::string authority;        // host[:port] from an absolute-form target, else empty
  std::vector<Header> headers;  // in the order received, repeated names kept
  std::string body;             // Content-Length bytes, or the chunks joined

  // All values of the header `name` (any case) joined by ", ", or nothing if absent.
  std::optional<std::string> header(std::string_view name) const;
};

// The character classes of the grammar (RFC 5234 B.1, RFC 9110 5.6), on bytes and ASCII only.
// Not <cctype>: its answers follow the C locale, which a gateway app loaded into the server may
// change with setlocale(), and in a Latin-1 locale isalpha(0xE9) is true.
namespace ascii {
bool is_digit(unsigned char c);           // DIGIT: 0-9
bool is_alpha(unsigned char c);           // ALPHA: A-Z a-z
bool is_hexdig(unsigned char c);          // HEXDIG: 0-9 A-F a-f
bool is_tchar(unsigned char c);           // tchar (RFC 9110 5.6.2): a character of a token
bool is_vchar(unsigned char c);           // VCHAR: the visible characters, 0x21-0x7E
bool is_qdtext(unsigned char c);          // qdtext (RFC 9110 5.6.4): in quotes, unescaped
unsigned char to_lower(unsigned char c);  // A-Z to a-z; every other byte unchanged
}  // namespace ascii

// Case-insensitive ASCII comparison, for header names and tokens.
bool iequals(std::string_view a, std::string_view b);

// Whether `s` is a token (RFC 9110 5.6.2), as a method or a header name must be.
bool is_token(std::string_view s);

// The two parts of host[:port] (RFC 9110 7.2), as in a Host header: "example.com:8080" is
// {"example.com", true, "8080"}; an IPv6 address keeps its brackets: "[::1]" is {"[::1]", false, ""}.
struct HostAndPort {
  std::string_view host;
  bool has_port = false;  // there was a ':' after the host
  std::string_view port;
};
HostAndPort split_host_port(std::string_view authority);

enum class ParseState { NeedMore, Complete, Malformed };

class RequestParser {
 public:
  // Consume the next bytes of the stream. Bytes after a complete request are not part of it:
  // they are counted by excess_bytes() and otherwise ignored.
  ParseState feed(std::string_view bytes);

  ParseState state() const { return state_; }
  bool started() const { return bytes_seen_ > 0; }
  // The request so far; whole once state() is Complete.
  const Request& request() const { return request_; }
  // When Malformed: the status to answer (400, 413, 414, 431, 501, 505) and why.
  int error_status() const { return error_status_; }
  const std::string& error_detail() const { return error_detail_; }
  // Bytes fed after the request ended: a pipelined request, or garbage.
  std::size_t excess_bytes() const { return excess_bytes_; }
  // True once the header section is complete, a body is still to come, and the client asked
  // for "Expect: 100-continue" (RFC 9110 10.1.1): it waits for an interim answer before sending.
  bool expects_continue() const;

 private:
  enum class Phase { RequestLine, Headers, Body, ChunkSize, ChunkData, ChunkDataEnd, Trailers, Done };
  enum class LineEnd { NotYetSeen, CRLF, LF };

  std::size_t feed_line(std::string_view bytes, std::size_t limit, int status, const char* what);
  bool line_end_allowed(bool crlf);
  void on_request_line(std::string_view line);
  void on_header_line(std::string_view line);
  void on_header_section_end();
  void on_chunk_size_line(std::string_view line);
  void on_trailer_line(std::string_view line);
  void fail_too_long(int status, const char* what);
  void fail(int status, std::string detail);
  void finish();

  Phase phase_ = Phase::RequestLine;
  LineEnd head_line_end_ = LineEnd::NotYetSeen;  // as the head's first line ended; the rest must too
  ParseState state_ = ParseState::NeedMore;
  Request request_;
  std::string line_;              // the line being assembled, without its end
  std::size_t header_bytes_ = 0;  // of the header section (or trailer section) so far
  std::uint64_t remaining_ = 0;   // body or chunk bytes still to read
  std::uint64_t bytes_seen_ = 0;
  std::size_t excess_bytes_ = 0;
  int error_status_ = 0;
  std::string error_detail_;
};
