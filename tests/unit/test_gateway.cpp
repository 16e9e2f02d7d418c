// tests/unit/test_gateway.cpp: environ building and the gateway contract (common/gateway.cpp).
#include <doctest/doctest.h>

#include <cstring>
#include <stdexcept>
#include <string>

#include "common/gateway.hpp"
#include "common/gateway_app.hpp"
#include "common/hello_app.hpp"

namespace {

Request parse_request(const std::string& text) {
  RequestParser parser;
  REQUIRE(parser.feed(text) == ParseState::Complete);
  return parser.request();
}

SocketAddress address(const std::string& ip, int port) {
  SocketAddress a;
  std::string error;
  REQUIRE(resolve_address(ip, port, a, error));
  return a;
}

Environ environ_for(const std::string& text) {
  return build_environ(parse_request(text), address("127.0.0.1", 8888), address("127.0.0.1", 54321));
}

// An app made of a lambda, for checking what the server does with each kind of behaviour.
gateway_app app_of(int (*call)(const gateway_call*)) {
  return {GATEWAY_ABI_VERSION, "test", call, nullptr};
}

const gateway_pair kText[] = {{{"Content-Type", 12}, {"text/plain", 10}}};

}  // namespace

TEST_CASE("environ carries the CGI variables of the request line and the connection") {
  Environ e = environ_for("GET /hello/world?x=1&y=2 HTTP/1.1\r\nHost: example.com:8080\r\n\r\n");
  CHECK(e["REQUEST_METHOD"] == "GET");
  CHECK(e["SCRIPT_NAME"] == "");
  CHECK(e["PATH_INFO"] == "/hello/world");
  CHECK(e["QUERY_STRING"] == "x=1&y=2");
  CHECK(e["SERVER_PROTOCOL"] == "HTTP/1.1");
  CHECK(e["SERVER_NAME"] == "example.com");
  CHECK(e["SERVER_PORT"] == "8888");
  CHECK(e["REMOTE_ADDR"] == "127.0.0.1");
  CHECK(e["REMOTE_PORT"] == "54321");
  CHECK(e["SERVER_SOFTWARE"] == kServerSoftware);
  CHECK(e["HTTP_HOST"] == "example.com:8080");
}

TEST_CASE("PATH_INFO is percent-decoded; QUERY_STRING is left as sent") {
  Environ e = environ_for("GET /a%20b/%C3%A9/100%25?q=a%20b HTTP/1.1\r\nHost: h\r\n\r\n");
  CHECK(e["PATH_INFO"] == "/a b/\xc3\xa9/100%");
  CHECK(e["QUERY_STRING"] == "q=a%20b");
}

TEST_CASE("percent_decode leaves malformed escapes as they are") {
  CHECK(percent_decode("%zz%4") == "%zz%4");
  CHECK(percent_decode("%41%4a%4A") == "AJJ");
  CHECK(percent_decode("%") == "%");
  CHECK(percent_decode("a%00b") == std::string("a\0b", 3));
}

TEST_CASE("one HTTP_* variable per header; repeated headers joined with commas") {
  Environ e = environ_for(
      "GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: a\r\nAccept: text/html\r\nx-forwarded-for: b\r\n\r\n");
  CHECK(e["HTTP_X_FORWARDED_FOR"] == "a, b");
  CHECK(e["HTTP_ACCEPT"] == "text/html");
}

TEST_CASE("Content-Type and Content-Length become CONTENT_TYPE and CONTENT_LENGTH, not HTTP_*") {
  Environ e = environ_for(
      "POST /f HTTP/1.1\r\nHost: h\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello");
  CHECK(e["CONTENT_TYPE"] == "text/plain");
  CHECK(e["CONTENT_LENGTH"] == "5");
  CHECK(e.count("HTTP_CONTENT_TYPE") == 0);
  CHECK(e.count("HTTP_CONTENT_LENGTH") == 0);
}

TEST_CASE("the body is the input stream, Content-Length: 0 included, chunked bodies decoded") {
  CHECK(environ_for("POST /f HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello")["gateway.input"] ==
        "hello");
  Environ empty = environ_for("POST /f HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n");
  CHECK(empty["CONTENT_LENGTH"] == "0");
  CHECK(empty["gateway.input"] == "");
  Environ chunked =
      environ_for("POST /f HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n");
  CHECK(chunked["gateway.input"] == "abc");
  CHECK(chunked["CONTENT_LENGTH"] == "3");
  Environ none = environ_for("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
  CHECK(none.count("CONTENT_LENGTH") == 0);
  CHECK(none.count("CONTENT_TYPE") == 0);
}

TEST_CASE("a header name with an underscore is left out, so it cannot pose as one with a dash") {
  Environ e = environ_for("GET / HTTP/1.1\r\nHost: h\r\nX-User: real\r\nX_User: forged\r\n\r\n");
  CHECK(e["HTTP_X_USER"] == "real");
}

TEST_CASE("SERVER_NAME: from an absolute-form target, from Host, or the server's own address") {
  CHECK(environ_for("GET http://target.example/ HTTP/1.1\r\nHost: h\r\n\r\n")["SERVER_NAME"] ==
        "target.example");
  CHECK(environ_for("GET / HTTP/1.1\r\nHost: [::1]:8888\r\n\r\n")["SERVER_NAME"] == "[::1]");
  CHECK(environ_for("GET / HTTP/1.0\r\n\r\n")["SERVER_NAME"] == "127.0.0.1");
}

TEST_CASE("the gateway's own variables") {
  Environ e = environ_for("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
  CHECK(e["gateway.version"] == "1.0");
  CHECK(e["gateway.url_scheme"] == "http");
  CHECK(e["gateway.multithread"] == "false");
  CHECK(e["gateway.multiprocess"] == "false");
  CHECK(e["gateway.run_once"] == "false");
  CHECK(e.count("gateway.errors") == 1);
}

TEST_CASE("header names become HTTP_* in ASCII, whatever the locale says of other bytes") {
  // A name is a token, so it is ASCII; upper-casing must not depend on the C library's locale,
  // which an app (Python's, through the bridge) may change.
  Environ e = environ_for("GET / HTTP/1.1\r\nHost: h\r\nx-mixed-Case: 1\r\n\r\n");
  CHECK(e["HTTP_X_MIXED_CASE"] == "1");
}

TEST_CASE("a well-behaved app: status, headers and body become the response") {
  auto app = [](const gateway_call* c) {
    gateway_pair headers[] = {{{"Content-Type", 12}, {"text/plain", 10}}, {{"X-App", 5}, {"yes", 3}}};
    c->start_response(c->server, "201 Created", headers, 2);
    c->write(c->server, "made ", 5);
    c->write(c->server, "it", 2);
    return 0;
  };
  AppResult result = call_app(app_of(app), Environ{});
  CHECK(result.fault.empty());
  Response response = build_response(result);
  CHECK(response.status == 201);
  CHECK(response.reason == "Created");
  CHECK(response.body == "made it");
  REQUIRE(response.headers.size() == 2);
  CHECK(response.headers[1].name == "X-App");
}

TEST_CASE("the app sees the environ sorted, and can look variables up") {
  auto app = [](const gateway_call* c) {
    AppCall call(c);
    std::string seen(call.get("PATH_INFO"));
    std::string order;
    for (const gateway_pair& p : call) order += std::string(p.name.data, p.name.size) + ",";
    respond(call, "200 OK", "text/plain", seen + "|" + order + "|" + std::string(call.get("MISSING")));
    return 0;
  };
  AppResult result = call_app(app_of(app), Environ{{"PATH_INFO", "/x"}, {"A", "1"}, {"Z", "2"}});
  CHECK(result.body == "/x|A,PATH_INFO,Z,|");
}

TEST_CASE("contract breaches are faults, answered 500") {
  auto fault_of = [](const gateway_app& app) {
    AppResult result = call_app(app, Environ{});
    CHECK(build_response(result).status == (result.fault.empty() ? 200 : 500));
    return result.fault;
  };
  SUBCASE("never calls start_response") {
    auto app = [](const gateway_call*) { return 0; };
    CHECK(fault_of(app_of(app)) == "the app never called start_response");
  }
  SUBCASE("calls it twice") {
    auto app = [](const gateway_call* c) {
      c->start_response(c->server, "200 OK", kText, 1);
      return c->start_response(c->server, "200 OK", kText, 1) == -1 ? 0 : 2;
    };
    CHECK(fault_of(app_of(app)) == "start_response called twice");
  }
  SUBCASE("writes before start_response") {
    auto app = [](const gateway_call* c) { return c->write(c->server, "x", 1) == -1 ? 0 : 2; };
    CHECK(fault_of(app_of(app)) == "write() before start_response");
  }
  SUBCASE("malformed statuses") {
    for (const char* status :
         {"200", "OK", "2000 OK", "20x OK", "099 Low", "100 Continue", "600 High", "200 O\r\nK", "200\tOK"}) {
      CAPTURE(status);
      static const char* current;
      current = status;
      auto app = [](const gateway_call* c) {
        c->start_response(c->server, current, kText, 1);
        return 0;
      };
      CHECK(fault_of(app_of(app)).rfind("malformed status", 0) == 0);
    }
  }
  SUBCASE("a header with CR or LF in its value: response splitting") {
    auto app = [](const gateway_call* c) {
      gateway_pair h[] = {{{"X-A", 3}, {"a\r\nSet-Cookie: x=1", 19}}};
      c->start_response(c->server, "200 OK", h, 1);
      return 0;
    };
    CHECK(fault_of(app_of(app)) == "header X-A has a control byte (CR, LF, ...) in its value");
  }
  SUBCASE("a header name that is not a token") {
    auto app = [](const gateway_call* c) {
      gateway_pair h[] = {{{"X A", 3}, {"1", 1}}};
      c->start_response(c->server, "200 OK", h, 1);
      return 0;
    };
    CHECK(fault_of(app_of(app)) == "malformed header name 'X A'");
  }
  SUBCASE("a hop-by-hop header") {
    auto app = [](const gateway_call* c) {
      gateway_pair h[] = {{{"connection", 10}, {"keep-alive", 10}}};
      c->start_response(c->server, "200 OK", h, 1);
      return 0;
    };
    CHECK(fault_of(app_of(app)) == "hop-by-hop header connection is the server's");
  }
  SUBCASE("a Content-Length that is not the body's length") {
    auto app = [](const gateway_call* c) {
      gateway_pair h[] = {{{"Content-Length", 14}, {"10", 2}}};
      c->start_response(c->server, "200 OK", h, 1);
      return c->write(c->server, "abc", 3);
    };
    CHECK(fault_of(app_of(app)) == "Content-Length 10 but a body of 3 bytes");
  }
  SUBCASE("but an answer to HEAD may announce the length GET would have, without the body") {
    auto app = [](const gateway_call* c) {
      gateway_pair h[] = {{{"Content-Length", 14}, {"10", 2}}};
      return c->start_response(c->server, "200 OK", h, 1);
    };
    AppResult result = call_app(app_of(app), Environ{{"REQUEST_METHOD", "HEAD"}});
    CHECK(result.fault.empty());
    CHECK(serialize_response(build_response(result), false).find("Content-Length: 10\r\n") !=
          std::string::npos);
  }
  SUBCASE("a body with 204 No Content") {
    auto app = [](const gateway_call* c) {
      c->start_response(c->server, "204 No Content", kText, 1);
      return c->write(c->server, "oops", 4);
    };
    CHECK(fault_of(app_of(app)) == "a body with status 204, which has none");
  }
  SUBCASE("an app that returns failure") {
    auto app = [](const gateway_call* c) {
      c->start_response(c->server, "200 OK", kText, 1);
      return 3;
    };
    CHECK(fault_of(app_of(app)) == "the app reported failure (returned 3)");
  }
}

TEST_CASE("run_app turns a C++ exception into a logged failure instead of letting it cross the C ABI") {
  auto app = [](const gateway_call* c) {
    return run_app(c, [](AppCall&) { throw std::runtime_error("boom"); });
  };
  AppResult result = call_app(app_of(app), Environ{});
  CHECK(result.fault == "the app reported failure (returned 1)");
  REQUIRE(result.errors.size() == 1);
  CHECK(result.errors[0] == "uncaught exception: boom");
}

TEST_CASE("the built-in hello app answers as Part 1 did") {
  auto answer = [](const char* method, const char* path) {
    return build_response(call_app(hello_app, Environ{{"REQUEST_METHOD", method}, {"PATH_INFO", path}}));
  };
  Response ok = answer("GET", "/hello");
  CHECK(ok.status == 200);
  CHECK(ok.body == "Hello, World!");
  CHECK(answer("GET", "/nope").status == 404);
  Response post = answer("POST", "/hello");
  CHECK(post.status == 405);
  CHECK(post.headers[1].name == "Allow");
  CHECK(post.headers[1].value == "GET, HEAD");
}
