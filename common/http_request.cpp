// common/http_request.cpp (Part 1): the incremental HTTP/1.1 request parser. Section numbers are RFC 9112
// (message syntax) and RFC 9110 (semantics).
#include "common/http_request.hpp"

#include <algorithm>
#include <charconv>

namespace ascii {

bool is_digit(unsigned char c) {
  return c >= '0' && c <= '9';
}
bool is_alpha(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_hexdig(unsigned char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// The characters of a token, such as a method or a header name.
bool is_tchar(unsigned char c) {
  if (is_digit(c) || is_alpha(c)) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

bool is_vchar(unsigned char c) {
  return c >= 0x21 && c <= 0x7e;
}

// HTAB, SP, and the visible characters but '"' and '\\', or obs-text (0x80-0xFF).
bool is_qdtext(unsigned char c) {
  return c == '\t' || c == ' ' || (is_vchar(c) && c != '"' && c != '\\') || c >= 0x80;
}

unsigned char to_lower(unsigned char c) {
  return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

}  // namespace ascii

namespace {

// A byte that may never appear in a header line: control characters other than HTAB. CR is
// allowed here only because it may end the line; bare CR is caught when the line is complete.
bool is_forbidden_in_field(unsigned char c) {
  return (c < 0x20 && c != '\t' && c != '\r') || c == 0x7f;
}

// The request line (3) holds printable ASCII and single spaces only.
bool is_forbidden_in_request_line(unsigned char c) {
  return (c < 0x20 && c != '\r') || c >= 0x7f;
}

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string_view skip_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  return s;
}

// The length of the token at the start of `s`, 0 if there is none.
std::size_t token_length(std::string_view s) {
  std::size_t n = 0;
  while (n < s.size() && ascii::is_tchar(s[n])) ++n;
  return n;
}

// The length of the quoted-string (RFC 9110 5.6.4) at the start of `s`, quotes included, or 0 if
// there is none or it does not end. Inside, a backslash escapes one HTAB, SP, VCHAR or obs-text.
std::size_t quoted_string_length(std::string_view s) {
  if (!s.starts_with('"')) return 0;
  for (std::size_t i = 1; i < s.size(); ++i) {
    unsigned char c = s[i];
    if (c == '"') return i + 1;
    if (c == '\\') {
      if (i + 1 == s.size()) return 0;
      unsigned char escaped = s[++i];
      if (escaped != '\t' && escaped != ' ' && !ascii::is_vchar(escaped) && escaped < 0x80) return 0;
    } else if (!ascii::is_qdtext(c)) {
      return 0;
    }
  }
  return 0;
}

// chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] ) (7.1.1), where the
// name is a token and the value a token or a quoted-string. BWS is optional whitespace, and there
// is none anywhere else: not after the chunk-size alone, not at the end of the line.
bool is_chunk_ext(std::string_view s) {
  while (!s.empty()) {
    s = skip_ows(s);
    if (!s.starts_with(';')) return false;
    s = skip_ows(s.substr(1));
    std::size_t name = token_length(s);
    if (name == 0) return false;
    s.remove_prefix(name);
    std::string_view after_name = skip_ows(s);
    if (after_name.starts_with('=')) {
      s = skip_ows(after_name.substr(1));
      std::size_t value = s.starts_with('"') ? quoted_string_length(s) : token_length(s);
      if (value == 0) return false;
      s.remove_prefix(value);
    }
  }
  return true;
}

// The comma-separated elements of a field value, whitespace trimmed, empty ones kept: at least one.
std::vector<std::string_view> split_commas(std::string_view value) {
  std::vector<std::string_view> items;
  while (true) {
    std::size_t comma = value.find(',');
    items.push_back(trim_ows(value.substr(0, comma)));
    if (comma == std::string_view::npos) return items;
    value.remove_prefix(comma + 1);
  }
}

// The elements of a list-valued field (RFC 9110 5.6.1), empty ones dropped as a recipient must.
std::vector<std::string_view> split_list(std::string_view value) {
  std::vector<std::string_view> items = split_commas(value);
  std::erase_if(items, [](std::string_view item) { return item.empty(); });
  return items;
}

bool is_digits(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](unsigned char c) { return ascii::is_digit(c); });
}

// 1*DIGIT, refusing signs, spaces and values that do not fit in 64 bits.
std::optional<std::uint64_t> parse_decimal(std::string_view s) {
  if (s.empty() || !is_digits(s)) return std::nullopt;
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return value;
}

// reg-name or IPv4address (RFC 3986 3.2.2): unreserved characters, sub-delims and %XX escapes.
bool is_reg_name(std::string_view name) {
  constexpr std::string_view kAllowed = "-._~!$&'()*+,;=";
  for (std::size_t i = 0; i < name.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(name[i]);
    if (c == '%' && i + 2 < name.size() && ascii::is_hexdig(name[i + 1]) && ascii::is_hexdig(name[i + 2])) {
      i += 2;
    } else if (!ascii::is_alpha(c) && !ascii::is_digit(c) &&
               kAllowed.find(name[i]) == std::string_view::npos) {
      return false;
    }
  }
  return true;
}

// An IPv6 address in brackets (IP-literal, RFC 3986 3.2.2): hex digits, ':' and '.' inside.
bool is_ipv6_literal(std::string_view s) {
  return s.size() > 2 && s.front() == '[' && s.back() == ']' &&
         std::all_of(s.begin() + 1, s.end() - 1,
                     [](unsigned char c) { return ascii::is_hexdig(c) || c == ':' || c == '.'; });
}

// uri-host [ ":" port ] (RFC 9110 7.2): a name, an IPv4 address or a bracketed IPv6 address, not
// empty (RFC 9110 4.2.1), then an optional port of digits. Whatever reads SERVER_NAME or
// HTTP_HOST later can rely on that shape.
bool is_valid_host(std::string_view authority) {
  HostAndPort parts = split_host_port(authority);
  bool good_host = parts.host.starts_with('[') ? is_ipv6_literal(parts.host)
                                               : !parts.host.empty() && is_reg_name(parts.host);
  std::size_t used = parts.host.size() + (parts.has_port ? 1 + parts.port.size() : 0);
  return good_host && used == authority.size() && is_digits(parts.port);
}

bool starts_with_icase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

}  // namespace

bool is_token(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return ascii::is_tchar(c); });
}

HostAndPort split_host_port(std::string_view authority) {
  // The host ends at the first ':', or for an IPv6 address (whose digits hold ':') after its ']'.
  std::size_t end = authority.starts_with('[') ? authority.find(']') : authority.find(':');
  if (end != std::string_view::npos && authority[end] == ']') ++end;
  std::string_view host = authority.substr(0, end);
  std::string_view rest = authority.substr(host.size());
  if (rest.starts_with(':')) return {host, true, rest.substr(1)};
  return {host, false, {}};
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](unsigned char x, unsigned char y) {
           return ascii::to_lower(x) == ascii::to_lower(y);
         });
}

std::optional<std::string> Request::header(std::string_view name) const {
  std::optional<std::string> joined;
  for (const Header& h : headers) {
    if (!iequals(h.name, name)) continue;
    if (joined) {
      *joined += ", ";
      *joined += h.value;
    } else {
      joined = h.value;
    }
  }
  return joined;
}

bool RequestParser::expects_continue() const {
  bool body_pending = phase_ == Phase::Body || phase_ == Phase::ChunkSize;
  auto expect = request_.header("Expect");
  return state_ == ParseState::NeedMore && body_pending && request_.body.empty() &&
         request_.version == "HTTP/1.1" && expect && iequals(*expect, "100-continue");
}

ParseState RequestParser::feed(std::string_view bytes) {
  if (state_ == ParseState::Complete) excess_bytes_ += bytes.size();
  if (state_ != ParseState::NeedMore) return state_;
  bytes_seen_ += bytes.size();

  while (!bytes.empty() && state_ == ParseState::NeedMore) {
    std::size_t used = 0;
    switch (phase_) {
      case Phase::RequestLine: used = feed_line(bytes, kMaxRequestLineBytes, 414, "request line"); break;
      case Phase::Headers:
      case Phase::Trailers:
        used = feed_line(bytes, kMaxHeaderBytes - std::min(header_bytes_, kMaxHeaderBytes), 431,
                         "header section");
        break;
      case Phase::ChunkSize: used = feed_line(bytes, kMaxChunkLineBytes, 400, "chunk-size line"); break;
      case Phase::ChunkDataEnd:
        used = feed_line(bytes, 1, 400, "chunk data (longer than its chunk-size)");
        break;
      case Phase::Body:
      case Phase::ChunkData: {
        used = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, bytes.size()));
        request_.body.append(bytes.substr(0, used));
        remaining_ -= used;
        if (remaining_ == 0) {
          if (phase_ == Phase::Body) {
            finish();
          } else {
            phase_ = Phase::ChunkDataEnd;
          }
        }
        break;
      }
      case Phase::Done: break;
    }
    bytes.remove_prefix(used);
  }
  if (state_ == ParseState::Complete) excess_bytes_ += bytes.size();
  return state_;
}

// Collect bytes up to the end of a line (LF, with an optional CR before it, 2.2; which of the two
// a line may use is line_end_allowed()'s to say) and hand the line to the handler of the current
// phase. Returns how many bytes were used. `limit` bounds the line (without its end); past it the
// request fails with `status`.
std::size_t RequestParser::feed_line(std::string_view bytes, std::size_t limit, int status,
                                     const char* what) {
  std::size_t lf = bytes.find('\n');
  std::string_view piece = bytes.substr(0, lf);  // without the LF, if there is one

  // Check each byte as it arrives, in the order it arrives, so that the verdict is the same
  // however the stream was cut into reads. Impossible bytes are refused at once (binary junk,
  // such as a TLS handshake sent to a plain HTTP port, need not wait for a line end), and so is
  // the first byte past the limit.
  bool request_line = phase_ == Phase::RequestLine;
  for (std::size_t i = 0; i < piece.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(piece[i]);
    if (request_line ? is_forbidden_in_request_line(c) : is_forbidden_in_field(c)) {
      fail(400, std::string("invalid byte in ") + what);
      return bytes.size();
    }
    // The line's length with this byte. A CR is not counted yet: it may be the start of CRLF.
    if (line_.size() + i + (c == '\r' ? 0 : 1) > limit) {
      line_.append(piece.substr(0, i));
      fail_too_long(status, what);
      return bytes.size();
    }
  }
  line_.append(piece);
  if (lf == std::string_view::npos) return bytes.size();  // need more

  std::string line = std::move(line_);
  line_.clear();
  std::size_t consumed = line.size() + 1;  // with its LF
  bool crlf = !line.empty() && line.back() == '\r';
  if (crlf) line.pop_back();
  if (line.find('\r') != std::string::npos) {  // 2.2: a bare CR is invalid
    fail(400, std::string("bare CR in ") + what);
    return lf + 1;
  }
  if (!line_end_allowed(crlf)) return lf + 1;

  switch (phase_) {
    case Phase::RequestLine: on_request_line(line); break;
    case Phase::Headers:
      header_bytes_ += consumed;
      on_header_line(line);
      break;
    case Phase::Trailers:
      header_bytes_ += consumed;
      on_trailer_line(line);
      break;
    case Phase::ChunkSize: on_chunk_size_line(line); break;
    case Phase::ChunkDataEnd:
      phase_ = Phase::ChunkSize;  // the line was empty: feed_line's limit of 1 refused anything else
      if (!line.empty()) fail(400, "chunk data longer than its chunk-size");
      break;
    default: break;
  }
  return lf + 1;
}

// Whether a line may end as this one did (CRLF, or a bare LF). 2.2 lets a recipient take a bare LF
// for a line end, which a request typed into nc needs. But a reader that does not (RFC 9110 5.5
// lets it take the LF for a space) reads "X: a\nContent-Length: 5\r\n" as one field, X, where we
// read two: so the first line end of the head sets its style, and a line ending the other way
// is refused. The leniency is for the start line and fields (2.2); the chunked framing, trailer
// section included, is CRLF (7.1).
bool RequestParser::line_end_allowed(bool crlf) {
  if (phase_ != Phase::RequestLine && phase_ != Phase::Headers) {
    if (!crlf) fail(400, "bare LF in chunked framing, which ends every line with CRLF");
    return crlf;
  }
  LineEnd end = crlf ? LineEnd::CRLF : LineEnd::LF;
  if (head_line_end_ == LineEnd::NotYetSeen) head_line_end_ = end;
  if (end == head_line_end_) return true;
  fail(400, "a head mixing CRLF and bare LF line ends");
  return false;
}

// request-line = method SP request-target SP HTTP-version (3).
void RequestParser::on_request_line(std::string_view line) {
  if (line.empty()) {  // 2.2: ignore empty lines before the request line, but not forever
    header_bytes_ += 2;
    if (header_bytes_ > kMaxRequestLineBytes) fail(400, "too many empty lines before the request line");
    return;
  }
  std::size_t sp1 = line.find(' ');
  std::size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos) {
    return fail(400, "request line is not METHOD SP TARGET SP VERSION");
  }
  std::string_view method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = line.substr(sp2 + 1);

  if (!is_token(method)) return fail(400, "method is not a token");
  // 2.3: HTTP-version = "HTTP/" DIGIT "." DIGIT; any 1.x is answered as 1.1.
  if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || !ascii::is_digit(version[5]) ||
      version[6] != '.' || !ascii::is_digit(version[7])) {
    return fail(400, "malformed HTTP version");
  }
  if (version[5] != '1') return fail(505, "only HTTP/1.x is spoken here");
  if (target.empty() || target.find('#') != std::string_view::npos) {
    return fail(400, "malformed request-target");
  }

  request_.method = method;
  request_.target = target;
  request_.version = version;

  // 3.2: the four forms of request-target.
  std::string_view path_and_query;
  if (target.front() == '/') {  // origin-form: /path?query
    path_and_query = target;
  } else if (starts_with_icase(target, "http://") || starts_with_icase(target, "https://")) {
    std::string_view rest = target.substr(target.find("//") + 2);  // absolute-form (3.2.2)
    std::size_t end = std::min(rest.find('/'), rest.find('?'));
    request_.authority = rest.substr(0, end);
    if (!is_valid_host(request_.authority)) return fail(400, "malformed authority in absolute-form target");
    path_and_query = end == std::string_view::npos ? std::string_view("/") : rest.substr(end);
  } else if (target == "*") {  // asterisk-form (3.2.4), for OPTIONS only
    if (method != "OPTIONS") return fail(400, "asterisk-form target is only for OPTIONS");
    path_and_query = target;
  } else if (method == "CONNECT") {  // authority-form (3.2.3): a tunnel, which we do not make
    return fail(501, "CONNECT is not implemented");
  } else {
    return fail(400, "request-target must start with '/'");
  }
  std::size_t question = path_and_query.find('?');
  request_.path = path_and_query.substr(0, question);
  if (request_.path.empty()) request_.path = "/";  // "http://host?q" has an empty path
  if (question != std::string_view::npos) request_.query = path_and_query.substr(question + 1);
  phase_ = Phase::Headers;
  header_bytes_ = 0;
}

// field-line = field-name ":" OWS field-value OWS (5).
void RequestParser::on_header_line(std::string_view line) {
  if (line.empty()) return on_header_section_end();
  if (line.front() == ' ' || line.front() == '\t') {
    // 5.2: obs-fold (a line continuing the previous field) must be refused by a server, and
    // whitespace before the first field (2.2) likewise.
    return fail(400, "obsolete line folding (a header line starting with whitespace)");
  }
  std::size_t colon = line.find(':');
  if (colon == std::string_view::npos) return fail(400, "header line without a colon");
  std::string_view name = line.substr(0, colon);
  if (!name.empty() && (name.back() == ' ' || name.back() == '\t')) {
    return fail(400, "whitespace between header name and colon");  // 5.1: MUST reject
  }
  if (!is_token(name)) return fail(400, "header name is not a token");
  if (request_.headers.size() == kMaxHeaderCount) return fail(431, "too many header fields");
  request_.headers.push_back({std::string(name), std::string(trim_ows(line.substr(colon + 1)))});
}

// The header section is complete: check what it says about the request as a whole, and decide
// how long the body is (6.3).
void RequestParser::on_header_section_end() {
  std::size_t hosts = std::count_if(request_.headers.begin(), request_.headers.end(),
                                    [](const Header& h) { return iequals(h.name, "Host"); });
  // Any HTTP/1.x other than 1.0 is answered as 1.1, and so must follow 1.1's rules.
  if (request_.version != "HTTP/1.0" && hosts == 0) return fail(400, "HTTP/1.1 request without Host");
  if (hosts > 1) return fail(400, "more than one Host header");  // 3.2
  if (hosts == 1 && !is_valid_host(*request_.header("Host"))) return fail(400, "malformed Host header");

  auto transfer_encoding = request_.header("Transfer-Encoding");
  auto content_length = request_.header("Content-Length");
  if (transfer_encoding) {
    // 6.1, 6.3: the framing rules that request smuggling exploits are all refused here.
    if (content_length) return fail(400, "both Content-Length and Transfer-Encoding");
    if (request_.version == "HTTP/1.0") return fail(400, "Transfer-Encoding in an HTTP/1.0 request");
    std::vector<std::string_view> codings = split_list(*transfer_encoding);
    std::size_t chunked = std::count_if(codings.begin(), codings.end(),
                                        [](std::string_view c) { return iequals(c, "chunked"); });
    if (codings.empty() || !iequals(codings.back(), "chunked")) {
      return fail(400, "chunked is not the final transfer coding");
    }
    if (chunked > 1) return fail(400, "chunked applied more than once");
    if (codings.size() > 1) return fail(501, "unsupported transfer coding " + std::string(codings.front()));
    phase_ = Phase::ChunkSize;
    return;
  }
  if (content_length) {
    // 6.3: a list of identical values may be taken as one; anything else is an error. Content-Length
    // is not a list field (RFC 9110 8.6), so an empty element is no value at all: "5," and a second,
    // empty Content-Length line are refused, where a reader that took the empty one would see 0.
    std::optional<std::uint64_t> length;
    for (std::string_view item : split_commas(*content_length)) {
      std::optional<std::uint64_t> value = parse_decimal(item);
      if (!value) return fail(400, "Content-Length is not a decimal number of at most 64 bits");
      if (length && *length != *value) return fail(400, "differing Content-Length values");
      length = value;
    }
    if (*length > kMaxBodyBytes) return fail(413, "request body larger than the server accepts");
    remaining_ = *length;
    if (remaining_ > 0) {
      phase_ = Phase::Body;
      return;
    }
  }
  finish();  // 6.3: no Content-Length and no Transfer-Encoding: the body is empty
}

// chunk-size [ chunk-ext ] (7.1); extensions are checked against their grammar, then ignored.
void RequestParser::on_chunk_size_line(std::string_view line) {
  std::size_t digits = 0;
  while (digits < line.size() && ascii::is_hexdig(line[digits])) ++digits;
  std::uint64_t size = 0;
  auto [end, ec] = std::from_chars(line.data(), line.data() + digits, size, 16);
  if (digits == 0 || ec != std::errc()) return fail(400, "malformed or overflowing chunk-size");
  std::string_view ext = line.substr(digits);
  if (!is_chunk_ext(ext)) {
    return fail(400, skip_ows(ext).starts_with(';') ? "malformed chunk extension" : "junk after chunk-size");
  }

  if (size == 0) {
    phase_ = Phase::Trailers;
    header_bytes_ = 0;
    return;
  }
  if (size > kMaxBodyBytes - request_.body.size())
    return fail(413, "request body larger than the server accepts");
  remaining_ = size;
  phase_ = Phase::ChunkData;
}

// trailer-section (7.1.2): header lines after the last chunk, checked as headers and dropped.
void RequestParser::on_trailer_line(std::string_view line) {
  if (line.empty()) return finish();
  std::size_t colon = line.find(':');
  if (line.front() == ' ' || line.front() == '\t' || colon == std::string_view::npos ||
      !is_token(line.substr(0, colon))) {
    fail(400, "malformed trailer field");
  }
}

// A line passed its limit; line_ holds it so far. A request line that does so before its first
// space is all method, and RFC 9112 3 answers a method longer than any implemented with 501.
void RequestParser::fail_too_long(int status, const char* what) {
  if (phase_ == Phase::RequestLine && line_.find(' ') == std::string::npos) {
    return fail(501, "method longer than any this server implements");
  }
  fail(status, std::string(what) + " too long");
}

void RequestParser::fail(int status, std::string detail) {
  state_ = ParseState::Malformed;
  phase_ = Phase::Done;
  error_status_ = status;
  error_detail_ = std::move(detail);
}

void RequestParser::finish() {
  state_ = ParseState::Complete;
  phase_ = Phase::Done;
}
