// part2_gateway/apps/greeter.cpp: an app written against the tinyweb framework, not against the
// gateway interface: the framework is what the server calls.
//
//   ./part2/server part2/greeter.so
//   curl localhost:8888/hello/Ada?lang=fr
//   curl localhost:8888/echo -H 'Content-Type: application/json' -d '{"note": "hi"}'
#include "part2_gateway/apps/tinyweb.hpp"

using tinyweb::json;
using tinyweb::json_string;
using tinyweb::Reply;
using tinyweb::Request;

namespace {

Reply index(const Request&) {
  return {"200 OK", "text/plain; charset=utf-8",
          "GET  /                the routes\n"
          "GET  /hello           Hello, World!\n"
          "GET  /hello/{name}    a greeting as JSON; ?lang=en, fr or es\n"
          "POST /echo            the request, JSON-encoded, as the app received it\n"};
}

Reply hello(const Request&) {
  return {"200 OK", "text/plain; charset=utf-8", "Hello, World!"};
}

Reply greet(const Request& request) {
  auto lang = request.query.find("lang");
  std::string language = lang == request.query.end() ? "en" : lang->second;
  const std::string& name = request.params.at("name");
  std::string greeting;
  if (language == "en") greeting = "Hello, " + name + "!";
  if (language == "fr") greeting = "Bonjour, " + name + " !";
  if (language == "es") greeting = "\xc2\xa1Hola, " + name + "!";
  if (greeting.empty()) return json(R"({"error": "lang must be en, fr or es"})", "400 Bad Request");
  return json("{\"greeting\": " + json_string(greeting) + "}");
}

Reply echo(const Request& request) {
  std::string query = "{";
  for (const auto& [name, value] : request.query) {
    query += (query.size() > 1 ? ", " : "") + json_string(name) + ": " + json_string(value);
  }
  query += "}";
  return json("{\"method\": " + json_string(request.method) + ", \"path\": " + json_string(request.path) +
              ", \"query\": " + query + ", \"content_type\": " + json_string(request.content_type) +
              ", \"body\": " + json_string(request.body) + "}");
}

const tinyweb::Router& routes() {
  static const tinyweb::Router router = tinyweb::Router()
                                            .add("GET", "/", index)
                                            .add("GET", "/hello", hello)
                                            .add("GET", "/hello/{name}", greet)
                                            .add("POST", "/echo", echo);
  return router;
}

void greeter(AppCall& call) {
  routes().dispatch(call);
}

}  // namespace

extern "C" const gateway_app app = {GATEWAY_ABI_VERSION, "greeter",
                                    [](const gateway_call* call) { return run_app(call, greeter); }, nullptr};
