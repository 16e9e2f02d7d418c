// common/hello_app.cpp (Part 2): the built-in app, written against the gateway interface.
#include "common/hello_app.hpp"

#include <string>

#include "common/gateway_app.hpp"
#include "common/http_response.hpp"

namespace {

void hello(AppCall& call) {
  std::string path(call.get("PATH_INFO"));
  std::string_view method = call.get("REQUEST_METHOD");
  if (path != "/hello") return respond(call, "404 Not Found", kTextPlain, "404 Not Found: " + path + "\n");
  if (method != "GET" && method != "HEAD") {
    call.start_response("405 Method Not Allowed",
                        {{"Content-Type", std::string(kTextPlain)}, {"Allow", "GET, HEAD"}});
    return call.write("405 Method Not Allowed: " + std::string(method) + " " + path + "\n");
  }
  respond(call, "200 OK", kTextPlain, "Hello, World!");
}

int call_hello(const gateway_call* call) {
  return run_app(call, hello);
}

}  // namespace

const gateway_app hello_app = {GATEWAY_ABI_VERSION, "hello", call_hello, nullptr};
