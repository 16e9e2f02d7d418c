// part2_gateway/apps/tinyweb.hpp: a web framework small enough to read in one sitting.
//
// To the server a framework is just an app: it receives the environ and start_response like
// any other. What it gives its own users instead is routes with {placeholders}, the query string
// taken apart, and 404 and 405 answered without a line of their code. Flask, Django and Pyramid
// do the same on top of WSGI, with a great deal more besides.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/gateway_app.hpp"

namespace tinyweb {

// One request, as a handler sees it.
struct Request {
  std::string method;
  std::string path;
  std::map<std::string, std::string> params;  // from the route's {placeholders}
  std::map<std::string, std::string> query;   // from the query string, decoded
  std::string_view body;
  std::string_view content_type;
};

// What a handler answers.
struct Reply {
  std::string status = "200 OK";
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

using Handler = Reply (*)(const Request&);

class Router {
 public:
  // Route `method` requests for paths like `pattern` ("/hello/{name}") to `handler`.
  Router& add(std::string method, std::string pattern, Handler handler);
  // The app itself: find the route, call its handler, answer. HEAD is served by GET routes.
  void dispatch(AppCall& call) const;

 private:
  struct Route {
    std::string method;
    std::vector<std::string> pattern;  // the path's segments; "{name}" matches any one segment
    Handler handler;
  };
  std::vector<Route> routes_;
};

// A reply with a JSON body.
Reply json(std::string body, std::string status = "200 OK");
// `text` as a JSON string literal: quoted, with quotes, backslashes and control bytes escaped.
std::string json_string(std::string_view text);
// "a=1&b=x+y" -> {a: 1, b: "x y"}, each name and value percent-decoded.
std::map<std::string, std::string> parse_query(std::string_view query);

}  // namespace tinyweb
