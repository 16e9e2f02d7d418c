// tests/unit/test_http_request.cpp: the request parser, one case per rule (RFC 9112 sections).
#include <doctest/doctest.h>

#include <string>

#include "common/http_request.hpp"

namespace {

const std::string kSimple = "GET /hello?x=1&y=2 HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n";

// Feed the whole text at once.
RequestParser parse(const std::string& text) {
  RequestParser parser;
  parser.feed(text);
  return parser;
}

// The status a malformed request is answered with (0 if it was not found malformed).
int rejected_with(const std::string& text) {
  RequestParser parser = parse(text);
  return parser.state() == ParseState::Malformed ? parser.error_status() : 0;
}

std::string with_headers(const std::string& headers, const std::string& body = "") {
  return "POST /submit HTTP/1.1\r\nHost: example.com\r\n" + headers + "\r\n" + body;
}

// The verdict on a request: 200 when complete, 0 while more is needed, else the error status.
int verdict(const RequestParser& parser) {
  switch (parser.state()) {
    case ParseState::Complete: return 200;
    case ParseState::NeedMore: return 0;
    default: return parser.error_status();
  }
}

// The verdict on `text`, checked to be the same when it is cut in two at every byte and when it
// is fed byte by byte: how the reads were cut must not matter.
int verdict_at_every_cut(const std::string& text) {
  int whole = verdict(parse(text));
  for (std::size_t cut = 0; cut <= text.size(); ++cut) {
    CAPTURE(cut);
    RequestParser parser;
    parser.feed(text.substr(0, cut));
    parser.feed(text.substr(cut));
    CHECK(verdict(parser) == whole);
  }
  RequestParser by_byte;
  for (char c : text) by_byte.feed(std::string(1, c));
  CHECK(verdict(by_byte) == whole);
  return whole;
}

}  // namespace

TEST_CASE("a simple GET is parsed into method, target, path, query, version and headers") {
  RequestParser parser = parse(kSimple);
  REQUIRE(parser.state() == ParseState::Complete);
  const Request& r = parser.request();
  CHECK(r.method == "GET");
  CHECK(r.target == "/hello?x=1&y=2");
  CHECK(r.path == "/hello");
  CHECK(r.query == "x=1&y=2");
  CHECK(r.version == "HTTP/1.1");
  REQUIRE(r.headers.size() == 2);
  CHECK(r.headers[0].name == "Host");
  CHECK(r.headers[0].value == "example.com");
  CHECK(r.body.empty());
  CHECK(parser.excess_bytes() == 0);
}

TEST_CASE("every proper prefix of a request needs more, and the whole is complete") {
  for (std::size_t n = 0; n < kSimple.size(); ++n) {
    CAPTURE(n);
    RequestParser parser;
    CHECK(parser.feed(kSimple.substr(0, n)) == ParseState::NeedMore);
  }
  CHECK(parse(kSimple).state() == ParseState::Complete);
}

TEST_CASE("a request fed byte by byte parses as when fed whole") {
  RequestParser parser;
  ParseState state = ParseState::NeedMore;
  for (char c : kSimple) state = parser.feed(std::string(1, c));
  REQUIRE(state == ParseState::Complete);
  CHECK(parser.request().path == "/hello");
  CHECK(parser.request().headers.size() == 2);
}

TEST_CASE("header names are case-insensitive; repeated fields are joined by commas (RFC 9110 5.3)") {
  RequestParser parser = parse("GET / HTTP/1.1\r\nHost: h\r\nAccept: a\r\naccept: b\r\nACCEPT: c\r\n\r\n");
  REQUIRE(parser.state() == ParseState::Complete);
  CHECK(parser.request().header("accept") == "a, b, c");
  CHECK(parser.request().header("HOST") == "h");
  CHECK_FALSE(parser.request().header("Cookie").has_value());
}

TEST_CASE("optional whitespace around a field value is trimmed (5.1)") {
  RequestParser parser = parse("GET / HTTP/1.1\r\nHost:\t  h  \t\r\nX-Empty:\r\nX-Inner: a  b\r\n\r\n");
  REQUIRE(parser.state() == ParseState::Complete);
  CHECK(parser.request().header("Host") == "h");
  CHECK(parser.request().header("X-Empty") == "");
  CHECK(parser.request().header("X-Inner") == "a  b");
}

TEST_CASE("a body is read by Content-Length (6.2)") {
  RequestParser parser = parse(with_headers("Content-Length: 5\r\n", "hello"));
  REQUIRE(parser.state() == ParseState::Complete);
  CHECK(parser.request().body == "hello");
}

TEST_CASE("Content-Length: 0 and no length at all both mean an empty body (6.3)") {
  CHECK(parse(with_headers("Content-Length: 0\r\n")).state() == ParseState::Complete);
  CHECK(parse(with_headers("")).state() == ParseState::Complete);
}

TEST_CASE("bytes after the request are counted as excess, not taken as body (pipelining)") {
  RequestParser parser = parse(with_headers("Content-Length: 2\r\n", "hiGET / HTTP/1.1\r\n"));
  REQUIRE(parser.state() == ParseState::Complete);
  CHECK(parser.request().body == "hi");
  CHECK(parser.excess_bytes() == 16);
  parser.feed("more");
  CHECK(parser.excess_bytes() == 20);
}

TEST_CASE("a chunked body is decoded, extensions and trailers dropped (7.1)") {
  std::string body = "5;name=value\r\nhello\r\n7\r\n, world\r\n0\r\nX-Trailer: t\r\n\r\n";
  RequestParser parser = parse(with_headers("Transfer-Encoding: chunked\r\n", body));
  REQUIRE(parser.state() == ParseState::Complete);
  CHECK(parser.request().body == "hello, world");
}

TEST_CASE("a chunked request split at every byte boundary parses the same") {
  std::string text =
      with_headers("Transfer-Encoding: chunked\r\n", "a\r\n0123456789\r\n3\r\nabc\r\n0\r\n\r\n");
  for (std::size_t cut = 0; cut <= text.size(); ++cut) {
    CAPTURE(cut);
    RequestParser parser;
    parser.feed(text.substr(0, cut));
    REQUIRE(parser.feed(text.substr(cut)) == ParseState::Complete);
    CHECK(parser.request().body == "0123456789abc");
    CHECK(parser.excess_bytes() == 0);
  }
}

TEST_CASE("chunked framing ends every line with CRLF: a bare LF anywhere in it is 400 (7.1)") {
  auto chunked = [](const std::string& body) { return with_headers("Transfer-Encoding: chunked\r\n", body); };
  CHECK(verdict_at_every_cut(chunked("5\r\nhello\r\n0\r\nX-T: t\r\n\r\n")) == 200);
  CHECK(verdict_at_every_cut(chunked("5\nhello\r\n0\r\n\r\n")) == 400);            // after the chunk size
  CHECK(verdict_at_every_cut(chunked("5;a=b\nhello\r\n0\r\n\r\n")) == 400);        // after an extension
  CHECK(verdict_at_every_cut(chunked("5\r\nhello\n0\r\n\r\n")) == 400);            // after the chunk data
  CHECK(verdict_at_every_cut(chunked("5\r\nhello\r\n0\n\r\n")) == 400);            // after the last chunk
  CHECK(verdict_at_every_cut(chunked("5\r\nhello\r\n0\r\nX-T: t\n\r\n")) == 400);  // a trailer field
  CHECK(verdict_at_every_cut(chunked("5\r\nhello\r\n0\r\n\n")) == 400);            // the final blank line
  CHECK(verdict_at_every_cut(chunked("1\nA\n0\n\n")) == 400);
}

TEST_CASE(
    "chunk extensions follow their grammar: BWS around ';' and '=', token names, token or quoted values") {
  // chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] ) (7.1.1)
  auto with_ext = [](const std::string& ext) {
    return with_headers("Transfer-Encoding: chunked\r\n", "5" + ext + "\r\nhello\r\n0" + ext + "\r\n\r\n");
  };
  for (std::string good :
       {";a", ";a=b", " ; a = b", "\t;\ta\t=\tb", ";a;b=c;d", ";a=\"q d\"", ";a=\"\"", ";a=\"\\\"\"",
        ";a=\"x\\\ty\"", ";a=\"caf\xc3\xa9\"", ";a=\"\\\xc3\"", ";n!#$%&'*+-.^_`|~=v"}) {
    CAPTURE(good);
    CHECK(verdict_at_every_cut(with_ext(good)) == 200);
  }
  for (std::string bad :
       {";",       "; ",        " ",          "\t",        ";a ",    ";a=b ",        ";=b",  ";a=",
        ";a= ",    ";a=\"open", ";a=\"x\\\"", ";a=\"x\"y", ";a=b c", ";a=b;",        ";a(b", ";a=\"x\"\"y\"",
        ";a=\"\\", ";a\"x\"",   ";a=b,c",     "g",         ";a=@",   ";a=\"\\\x7f\""}) {
    CAPTURE(bad);
    CHECK(verdict_at_every_cut(with_ext(bad)) == 400);
  }
}

TEST_CASE("a head of bare LF line ends is followed by chunked framing in CRLF (2.2, 7.1)") {
  std::string head = "POST / HTTP/1.1\nHost: h\nTransfer-Encoding: chunked\n\n";
  CHECK(verdict_at_every_cut(head + "5\r\nhello\r\n0\r\n\r\n") == 200);
  CHECK(verdict_at_every_cut(head + "5\nhello\n0\n\n") == 400);
}

TEST_CASE("hex chunk sizes in either case") {
  RequestParser parser =
      parse(with_headers("Transfer-Encoding: chunked\r\n", "A\r\n0123456789\r\n0\r\n\r\n"));
  CHECK(parser.state() == ParseState::Complete);
  CHECK(parser.request().body.size() == 10);
}

TEST_CASE("empty lines before the request line are ignored (2.2)") {
  RequestParser parser = parse("\r\n\r\n" + kSimple);
  CHECK(parser.state() == ParseState::Complete);
  CHECK(parser.request().method == "GET");
}

TEST_CASE("a bare LF ends a line, as RFC 9112 2.2 allows, when every line of the head ends so") {
  RequestParser parser = parse("GET /hello HTTP/1.1\nHost: h\nAccept: a\n\n");
  REQUIRE(parser.state() == ParseState::Complete);
  CHECK(parser.request().header("Host") == "h");
  CHECK(parser.request().header("Accept") == "a");
  CHECK(verdict_at_every_cut("GET /hello HTTP/1.1\nHost: h\nAccept: a\n\n") == 200);
  CHECK(verdict_at_every_cut("\nGET / HTTP/1.1\nHost: h\n\n") == 200);  // an empty line first, LF too
}

TEST_CASE("a head mixing CRLF and bare LF is 400: its first line end sets the style (2.2)") {
  // A reader that takes a bare LF for a space (RFC 9110 5.5) sees one field "Dummy" here, we two.
  CHECK(verdict_at_every_cut("POST / HTTP/1.1\r\nHost: h\r\nDummy: x\nContent-Length: 2\r\n\r\nhi") == 400);
  CHECK(verdict_at_every_cut(
            "POST / HTTP/1.1\r\nHost: h\r\nx:x\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n") == 400);
  CHECK(verdict_at_every_cut("GET / HTTP/1.1\nHost: h\r\n\n") == 400);    // LF head, one CRLF field
  CHECK(verdict_at_every_cut("GET / HTTP/1.1\r\nHost: h\r\n\n") == 400);  // CRLF head, LF blank line
  CHECK(verdict_at_every_cut("GET / HTTP/1.1\nHost: h\n\r\n") == 400);    // LF head, CRLF blank line
  CHECK(verdict_at_every_cut("\r\nGET / HTTP/1.1\nHost: h\n\n") == 400);  // the empty line first sets CRLF
  CHECK(verdict_at_every_cut("GET / HTTP/1.1\r\nHost: h\n\r\n") == 400);  // not "LF, then a CRLF blank line"
}

TEST_CASE("a mixed head is refused at the line that breaks the style, before the head is complete") {
  RequestParser parser;
  CHECK(parser.feed("GET / HTTP/1.1\r\nHost: h\n") == ParseState::Malformed);
  CHECK(parser.error_status() == 400);
}

TEST_CASE("HTTP/1.0 without Host is accepted; HTTP/1.x is read as 1.1, Host rule included") {
  CHECK(parse("GET / HTTP/1.0\r\n\r\n").state() == ParseState::Complete);
  CHECK(parse("GET / HTTP/1.9\r\nHost: h\r\n\r\n").state() == ParseState::Complete);
  CHECK(rejected_with("GET / HTTP/1.9\r\n\r\n") == 400);
}

TEST_CASE("the request-target forms (3.2)") {
  SUBCASE("absolute-form gives the path and the authority (3.2.2)") {
    RequestParser parser = parse("GET http://example.com:8080/a/b?q=1 HTTP/1.1\r\nHost: other\r\n\r\n");
    REQUIRE(parser.state() == ParseState::Complete);
    CHECK(parser.request().authority == "example.com:8080");
    CHECK(parser.request().path == "/a/b");
    CHECK(parser.request().query == "q=1");
  }
  SUBCASE("absolute-form without a path means /") {
    RequestParser parser = parse("GET http://example.com HTTP/1.1\r\nHost: example.com\r\n\r\n");
    REQUIRE(parser.state() == ParseState::Complete);
    CHECK(parser.request().path == "/");
  }
  SUBCASE("asterisk-form for OPTIONS only (3.2.4)") {
    CHECK(parse("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n").state() == ParseState::Complete);
    CHECK(rejected_with("GET * HTTP/1.1\r\nHost: h\r\n\r\n") == 400);
  }
  SUBCASE("authority-form is CONNECT, a tunnel this server does not make (3.2.3)") {
    CHECK(rejected_with("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com\r\n\r\n") == 501);
  }
  SUBCASE("anything else is refused") {
    CHECK(rejected_with("GET hello HTTP/1.1\r\nHost: h\r\n\r\n") == 400);
    CHECK(rejected_with("GET /a#frag HTTP/1.1\r\nHost: h\r\n\r\n") == 400);
  }
}

TEST_CASE("malformed request lines are answered 400 (3)") {
  CHECK(rejected_with("GET /\r\n\r\n") == 400);                                 // HTTP/0.9
  CHECK(rejected_with("GET  / HTTP/1.1\r\nHost: h\r\n\r\n") == 400);            // two spaces
  CHECK(rejected_with("GET / HTTP/1.1 \r\nHost: h\r\n\r\n") == 400);            // trailing space
  CHECK(rejected_with("GET\t/ HTTP/1.1\r\nHost: h\r\n\r\n") == 400);            // tab
  CHECK(rejected_with("G(T / HTTP/1.1\r\nHost: h\r\n\r\n") == 400);             // method not a token
  CHECK(rejected_with("GET / http/1.1\r\nHost: h\r\n\r\n") == 400);             // version is case-sensitive
  CHECK(rejected_with("GET / HTTP/1\r\nHost: h\r\n\r\n") == 400);               // version without minor
  CHECK(rejected_with("GET / HTTP/1.10\r\nHost: h\r\n\r\n") == 400);            // two digits
  CHECK(rejected_with("GET /caf\xc3\xa9 HTTP/1.1\r\nHost: h\r\n\r\n") == 400);  // raw UTF-8 in target
}

TEST_CASE("a version other than HTTP/1.x is answered 505, the HTTP/2 preface included") {
  CHECK(rejected_with("GET / HTTP/2.0\r\nHost: h\r\n\r\n") == 505);
  CHECK(rejected_with("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n") == 505);
  CHECK(rejected_with("GET / HTTP/0.9\r\n\r\n") == 505);
}

TEST_CASE("binary junk such as a TLS ClientHello is refused at its first byte") {
  RequestParser parser;
  CHECK(parser.feed(std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11)) ==
        ParseState::Malformed);
  CHECK(parser.error_status() == 400);
}

TEST_CASE("Host is required in HTTP/1.1 and must appear once (3.2)") {
  CHECK(rejected_with("GET / HTTP/1.1\r\n\r\n") == 400);
  CHECK(rejected_with("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n") == 400);
  CHECK(rejected_with("GET / HTTP/1.1\r\nHost: a b\r\n\r\n") == 400);
  CHECK(rejected_with("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n") == 400);
  CHECK(parse("GET / HTTP/1.1\r\nHost: [::1]:8888\r\n\r\n").state() == ParseState::Complete);
}

TEST_CASE("Host is uri-host [\":\" port]: a host that is not empty, a port of digits (RFC 9110 7.2, 4.2.1)") {
  auto with_host = [](const std::string& value) { return "GET / HTTP/1.1\r\nHost: " + value + "\r\n\r\n"; };
  for (const char* good : {"example.com", "example.com:8080", "example.com:", "127.0.0.1:80", "[::1]",
                           "[::1]:8888", "[::ffff:127.0.0.1]", "e%78ample.com", "a-b_c~d.e"}) {
    CAPTURE(good);
    CHECK(parse(with_host(good)).state() == ParseState::Complete);
  }
  for (const char* bad : {":8080", "example.com:http", "example.com:80:81", "[::1", "::1", "x[::1]", "[::1]x",
                          "[]", "[::g]", "e%zzample.com", "e%4", "user@example.com"}) {
    CAPTURE(bad);
    CHECK(rejected_with(with_host(bad)) == 400);
  }
}

TEST_CASE("split_host_port: the host (an IPv6 one with its brackets) and the port after the ':'") {
  HostAndPort name = split_host_port("example.com:8080");
  CHECK((name.host == "example.com" && name.has_port && name.port == "8080"));
  HostAndPort bare = split_host_port("example.com");
  CHECK((bare.host == "example.com" && !bare.has_port && bare.port.empty()));
  HostAndPort six = split_host_port("[::1]:8888");
  CHECK((six.host == "[::1]" && six.has_port && six.port == "8888"));
  HostAndPort six_bare = split_host_port("[::1]");
  CHECK((six_bare.host == "[::1]" && !six_bare.has_port));
  HostAndPort empty_port = split_host_port("x:");
  CHECK((empty_port.host == "x" && empty_port.has_port && empty_port.port.empty()));
}

TEST_CASE("an absolute-form authority is checked as Host is (RFC 9110 4.2.1)") {
  CHECK(rejected_with("GET http://:8080/ HTTP/1.1\r\nHost: h\r\n\r\n") == 400);
  CHECK(rejected_with("GET http://h:http/ HTTP/1.1\r\nHost: h\r\n\r\n") == 400);
  CHECK(rejected_with("GET http:///x HTTP/1.1\r\nHost: h\r\n\r\n") == 400);
  RequestParser parser = parse("GET http://[::1]:8080/x HTTP/1.1\r\nHost: h\r\n\r\n");
  REQUIRE(parser.state() == ParseState::Complete);
  CHECK(parser.request().authority == "[::1]:8080");
}

TEST_CASE("malformed header lines are answered 400 (5)") {
  CHECK(rejected_with(with_headers("X-A : 1\r\n")) == 400);  // whitespace before colon (5.1)
  CHECK(rejected_with(with_headers("X-A\t: 1\r\n")) == 400);
  CHECK(rejected_with(with_headers("X-A: 1\r\n  folded\r\n")) == 400);  // obs-fold (5.2)
  CHECK(rejected_with("GET / HTTP/1.1\r\n Host: h\r\n\r\n") == 400);    // whitespace before first field
  CHECK(rejected_with(with_headers("no colon here\r\n")) == 400);
  CHECK(rejected_with(with_headers(": empty name\r\n")) == 400);
  CHECK(rejected_with(with_headers("X A: 1\r\n")) == 400);                      // space inside a name
  CHECK(rejected_with(with_headers("X(A): 1\r\n")) == 400);                     // non-token byte
  CHECK(rejected_with(with_headers(std::string("X-A: a\0b\r\n", 10))) == 400);  // NUL in a value
  CHECK(rejected_with(with_headers("X-A: a\x01"
                                   "b\r\n")) == 400);  // control byte in a value
}

TEST_CASE("a bare CR anywhere in the head is refused (2.2)") {
  CHECK(rejected_with("GET / HTTP/1.1\rHost: h\r\n\r\n") == 400);
  CHECK(rejected_with(with_headers("X-A: a\rb\r\n")) == 400);
  CHECK(rejected_with("GET / HTTP/1.1\r\nHost: h\r\r\n\r\n") == 400);
}

TEST_CASE("bytes above 0x7F are allowed in field values (obs-text)") {
  RequestParser parser = parse(with_headers("X-Name: caf\xc3\xa9\r\n"));
  CHECK(parser.state() == ParseState::Complete);
}

TEST_CASE("Content-Length is 1*DIGIT; anything else is 400 (6.2, 6.3)") {
  CHECK(rejected_with(with_headers("Content-Length: -1\r\n")) == 400);
  CHECK(rejected_with(with_headers("Content-Length: +5\r\n", "hello")) == 400);
  CHECK(rejected_with(with_headers("Content-Length: 0x10\r\n")) == 400);
  CHECK(rejected_with(with_headers("Content-Length: 1 2\r\n")) == 400);
  CHECK(rejected_with(with_headers("Content-Length:\r\n")) == 400);
  CHECK(rejected_with(with_headers("Content-Length: 1.5\r\n")) == 400);
  CHECK(rejected_with(with_headers("Content-Length: 99999999999999999999999\r\n")) == 400);  // overflow
  CHECK(rejected_with(with_headers("Content-Length: 18446744073709551616\r\n")) == 400);     // 2^64
}

TEST_CASE("repeated Content-Length: identical values are one, differing ones are 400 (6.3)") {
  CHECK(parse(with_headers("Content-Length: 5\r\nContent-Length: 5\r\n", "hello")).state() ==
        ParseState::Complete);
  CHECK(parse(with_headers("Content-Length: 5, 5\r\n", "hello")).state() == ParseState::Complete);
  CHECK(rejected_with(with_headers("Content-Length: 5\r\nContent-Length: 6\r\n", "hello!")) == 400);
  CHECK(rejected_with(with_headers("Content-Length: 5, 6\r\n", "hello!")) == 400);
}

TEST_CASE("an empty element in Content-Length is no value: 400 (RFC 9110 8.6, 6.3)") {
  CHECK(verdict_at_every_cut(with_headers("Content-Length: 5,\r\n", "hello")) == 400);
  CHECK(verdict_at_every_cut(with_headers("Content-Length: ,5\r\n", "hello")) == 400);
  CHECK(verdict_at_every_cut(with_headers("Content-Length: 5,,5\r\n", "hello")) == 400);
  CHECK(verdict_at_every_cut(with_headers("Content-Length: 5\r\nContent-Length:\r\n", "hello")) == 400);
  CHECK(verdict_at_every_cut(with_headers("Content-Length:\r\nContent-Length: 5\r\n", "hello")) == 400);
  CHECK(verdict_at_every_cut(with_headers("Content-Length: 5 , 5\r\n", "hello")) == 200);
}

TEST_CASE("Content-Length with Transfer-Encoding is refused: the classic smuggling pair (6.1)") {
  CHECK(rejected_with(with_headers("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", "0\r\n\r\n")) ==
        400);
  CHECK(rejected_with(with_headers("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n", "0\r\n\r\n")) ==
        400);
}

TEST_CASE("Transfer-Encoding: chunked must be final and once; other codings are 501 (6.1)") {
  CHECK(rejected_with(with_headers("Transfer-Encoding: gzip\r\n")) == 400);
  CHECK(rejected_with(with_headers("Transfer-Encoding: chunked, gzip\r\n")) == 400);
  CHECK(rejected_with(with_headers("Transfer-Encoding: chunked, chunked\r\n")) == 400);
  CHECK(rejected_with(with_headers("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n")) == 400);
  CHECK(rejected_with(with_headers("Transfer-Encoding: gzip, chunked\r\n")) == 501);
  CHECK(rejected_with(with_headers("Transfer-Encoding: xchunked\r\n")) == 400);
  CHECK(rejected_with("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n") == 400);
  CHECK(parse(with_headers("Transfer-Encoding: CHUNKED\r\n", "0\r\n\r\n")).state() == ParseState::Complete);
}

TEST_CASE("malformed chunked framing is 400 (7.1)") {
  auto chunked = [](const std::string& body) { return with_headers("Transfer-Encoding: chunked\r\n", body); };
  CHECK(rejected_with(chunked("z\r\n")) == 400);                         // not hex
  CHECK(rejected_with(chunked("-1\r\n")) == 400);                        // signed
  CHECK(rejected_with(chunked("0x5\r\nhello\r\n0\r\n\r\n")) == 400);     // 0x prefix
  CHECK(rejected_with(chunked("10000000000000000\r\n")) == 400);         // 2^64: overflow
  CHECK(rejected_with(chunked("5\r\nhelloX\r\n0\r\n\r\n")) == 400);      // more data than the size
  CHECK(rejected_with(chunked("5 junk\r\nhello\r\n0\r\n\r\n")) == 400);  // junk after the size
  CHECK(rejected_with(chunked("5\rhello\r\n0\r\n\r\n")) == 400);         // bare CR
  CHECK(rejected_with(chunked("0\r\nbad trailer\r\n\r\n")) == 400);
  CHECK(rejected_with(chunked(std::string(kMaxChunkLineBytes + 2, '1'))) == 400);
}

TEST_CASE("a truncated body needs more and is never complete") {
  CHECK(parse(with_headers("Content-Length: 10\r\n", "short")).state() == ParseState::NeedMore);
  CHECK(parse(with_headers("Transfer-Encoding: chunked\r\n", "5\r\nhel")).state() == ParseState::NeedMore);
  CHECK(parse(with_headers("Transfer-Encoding: chunked\r\n", "5\r\nhello\r\n")).state() ==
        ParseState::NeedMore);
}

TEST_CASE("limits: request line 414, header section 431, header count 431, body 413") {
  std::string long_target = "/" + std::string(kMaxRequestLineBytes, 'a');
  CHECK(rejected_with("GET " + long_target + " HTTP/1.1\r\nHost: h\r\n\r\n") == 414);

  std::string big_header = "X-Big: " + std::string(kMaxHeaderBytes, 'b') + "\r\n";
  CHECK(rejected_with(with_headers(big_header)) == 431);

  std::string many;
  for (std::size_t i = 0; i < kMaxHeaderCount; ++i) many += "X-" + std::to_string(i) + ": v\r\n";
  CHECK(rejected_with(with_headers(many)) == 431);

  CHECK(rejected_with(with_headers("Content-Length: " + std::to_string(kMaxBodyBytes + 1) + "\r\n")) == 413);
  std::string huge_chunk = "100001\r\n";  // 1 MiB + 1 in hex
  CHECK(rejected_with(with_headers("Transfer-Encoding: chunked\r\n", huge_chunk)) == 413);
}

TEST_CASE("the limits are exact: at the limit is accepted") {
  std::string target = "/" + std::string(kMaxRequestLineBytes - 13 - 1, 'a');  // "GET " + " HTTP/1.1"
  std::string line = "GET " + target + " HTTP/1.1";
  REQUIRE(line.size() == kMaxRequestLineBytes);
  CHECK(parse(line + "\r\nHost: h\r\n\r\n").state() == ParseState::Complete);
  CHECK(rejected_with("GET a" + target + " HTTP/1.1\r\nHost: h\r\n\r\n") == 414);

  RequestParser parser = parse(with_headers("Content-Length: " + std::to_string(kMaxBodyBytes) + "\r\n",
                                            std::string(kMaxBodyBytes, 'x')));
  CHECK(parser.state() == ParseState::Complete);
  CHECK(parser.request().body.size() == kMaxBodyBytes);
}

TEST_CASE("a method longer than any implemented is 501, a request-target that long 414 (3)") {
  std::string run(kMaxRequestLineBytes + 1, 'a');
  CHECK(rejected_with(run + " / HTTP/1.1\r\nHost: h\r\n\r\n") == 501);
  CHECK(rejected_with("GET /" + run + " HTTP/1.1\r\nHost: h\r\n\r\n") == 414);
}

TEST_CASE("a line exactly at its limit is accepted when its CR and LF arrive in separate reads (2.2)") {
  std::string line = "GET /" + std::string(kMaxRequestLineBytes - 14, 'a') + " HTTP/1.1";
  REQUIRE(line.size() == kMaxRequestLineBytes);
  RequestParser parser;
  CHECK(parser.feed(line + "\r") == ParseState::NeedMore);
  CHECK(parser.feed("\nHost: h\r\n\r\n") == ParseState::Complete);
}

TEST_CASE("the first fault in the stream decides the status, however the reads were cut") {
  // The line is too long before the control byte arrives: 414 whether it came in one read or many.
  std::string text = "GET /" + std::string(kMaxRequestLineBytes, 'a') + "\x01 HTTP/1.1\r\nHost: h\r\n\r\n";
  RequestParser by_byte;
  for (char c : text) by_byte.feed(std::string(1, c));
  CHECK(rejected_with(text) == 414);
  CHECK(by_byte.error_status() == 414);
}

TEST_CASE("a header section larger than the limit fails before the blank line arrives") {
  RequestParser parser;
  parser.feed("GET / HTTP/1.1\r\nHost: h\r\n");
  std::string line = "X-Filler: " + std::string(100, 'f') + "\r\n";
  ParseState state = ParseState::NeedMore;
  for (int i = 0; i < 200 && state == ParseState::NeedMore; ++i) state = parser.feed(line);
  CHECK(state == ParseState::Malformed);
  CHECK(parser.error_status() == 431);
}

TEST_CASE("once malformed, the parser stays malformed") {
  RequestParser parser;
  parser.feed("BAD\r\n");
  REQUIRE(parser.state() == ParseState::Malformed);
  CHECK(parser.feed(kSimple) == ParseState::Malformed);
}

TEST_CASE("Expect: 100-continue is noticed once the head is in and the body is not") {
  RequestParser parser;
  parser.feed(with_headers("Content-Length: 5\r\nExpect: 100-continue\r\n"));
  CHECK(parser.expects_continue());
  parser.feed("hello");
  CHECK(parser.state() == ParseState::Complete);
  CHECK_FALSE(parser.expects_continue());
  RequestParser without_body = parse(with_headers("Expect: 100-continue\r\n"));
  CHECK_FALSE(without_body.expects_continue());
}

TEST_CASE("iequals compares ASCII without case") {
  CHECK(iequals("Content-Length", "content-LENGTH"));
  CHECK_FALSE(iequals("Content-Length", "Content-Lengt"));
}

TEST_CASE("the character classes are ASCII and match the RFC grammar for all 256 byte values") {
  // Each class spelled out as RFC 5234 B.1 and RFC 9110 5.6.2 list it, independently of the parser.
  const std::string digit = "0123456789";
  const std::string upper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
  const std::string lower = "abcdefghijklmnopqrstuvwxyz";
  const std::string tchar_symbols = "!#$%&'*+-.^_`|~";
  auto in = [](const std::string& set, int byte) {
    return set.find(static_cast<char>(byte)) != std::string::npos;
  };
  for (int byte = 0; byte < 256; ++byte) {
    CAPTURE(byte);
    auto c = static_cast<unsigned char>(byte);
    bool is_digit = in(digit, byte);
    bool is_alpha = in(upper, byte) || in(lower, byte);
    CHECK(ascii::is_digit(c) == is_digit);
    CHECK(ascii::is_alpha(c) == is_alpha);
    CHECK(ascii::is_hexdig(c) == (is_digit || in("ABCDEFabcdef", byte)));  // literals are case-insensitive
    CHECK(ascii::is_tchar(c) == (is_digit || is_alpha || in(tchar_symbols, byte)));
    CHECK(ascii::is_vchar(c) == (byte >= 0x21 && byte <= 0x7e));
    // qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text, where obs-text = %x80-FF
    bool qdtext = byte == '\t' || byte == ' ' || byte == 0x21 || (byte >= 0x23 && byte <= 0x5b) ||
                  (byte >= 0x5d && byte <= 0x7e) || byte >= 0x80;
    CHECK(ascii::is_qdtext(c) == qdtext);
    CHECK(ascii::to_lower(c) == (in(upper, byte) ? static_cast<unsigned char>(lower[upper.find(c)]) : c));
  }
  CHECK(iequals("HOST", "host"));
  CHECK_FALSE(iequals("\xc9", "\xe9"));  // É and é in Latin-1: not ASCII, so never folded
}
