// part2_gateway/apps/tinyweb.cpp
#include "part2_gateway/apps/tinyweb.hpp"

#include <cstdio>

namespace tinyweb {
namespace {

// "/hello/Ada" -> {"hello", "Ada"}; "/" -> {""}.
std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> segments;
  std::size_t start = 1;  // PATH_INFO starts with '/'
  while (start <= path.size()) {
    std::size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    segments.emplace_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return segments;
}

// Whether a path's segments fit a route's pattern; each {placeholder} it fills goes into `params`.
bool matches(const std::vector<std::string>& pattern, const std::vector<std::string>& segments,
             std::map<std::string, std::string>& params) {
  if (pattern.size() != segments.size()) return false;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    const std::string& p = pattern[i];
    if (p.size() > 2 && p.front() == '{' && p.back() == '}') {
      if (segments[i].empty()) return false;
      params[p.substr(1, p.size() - 2)] = segments[i];
    } else if (p != segments[i]) {
      return false;
    }
  }
  return true;
}

// Give the server a reply: status, Content-Type (and `extra` headers), body.
void answer(AppCall& call, const Reply& reply, std::vector<std::pair<std::string, std::string>> extra = {}) {
  extra.insert(extra.begin(), {"Content-Type", reply.content_type});
  call.start_response(reply.status, extra);
  call.write(reply.body);
}

}  // namespace

Router& Router::add(std::string method, std::string pattern, Handler handler) {
  routes_.push_back({std::move(method), split_path(pattern), handler});
  return *this;
}

void Router::dispatch(AppCall& call) const {
  std::string method(call.get("REQUEST_METHOD"));
  std::string path(call.get("PATH_INFO"));
  std::vector<std::string> segments = split_path(path);
  std::string allowed;  // the methods of routes whose pattern matches, for 405
  for (const Route& route : routes_) {
    std::map<std::string, std::string> params;
    if (!matches(route.pattern, segments, params)) continue;
    if (route.method != method && !(method == "HEAD" && route.method == "GET")) {
      allowed += (allowed.empty() ? "" : ", ") + route.method + (route.method == "GET" ? ", HEAD" : "");
      continue;
    }
    Request request{method,
                    path,
                    params,
                    parse_query(call.get("QUERY_STRING")),
                    call.get("gateway.input"),
                    call.get("CONTENT_TYPE")};
    return answer(call, route.handler(request));
  }
  if (allowed.empty())
    return answer(call, {"404 Not Found", "text/plain; charset=utf-8", "no route for " + path + "\n"});
  answer(
      call,
      {"405 Method Not Allowed", "text/plain; charset=utf-8", method + " is not allowed for " + path + "\n"},
      {{"Allow", allowed}});
}

Reply json(std::string body, std::string status) {
  return {std::move(status), "application/json", std::move(body) + "\n"};
}

std::string json_string(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    unsigned char u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20) {
      char escape[8];
      std::snprintf(escape, sizeof escape, "\\u%04x", u);
      out += escape;
    } else {
      out += c;  // bytes above 0x7F pass through: JSON text is UTF-8
    }
  }
  return out + "\"";
}

std::map<std::string, std::string> parse_query(std::string_view query) {
  std::map<std::string, std::string> fields;
  while (!query.empty()) {
    std::size_t amp = query.find('&');
    std::string pair(query.substr(0, amp));
    for (char& c : pair) {
      if (c == '+') c = ' ';  // in a query, '+' means a space (HTML forms)
    }
    std::size_t equals = pair.find('=');
    if (!pair.empty()) {
      fields[percent_decode(pair.substr(0, equals))] =
          equals == std::string::npos ? "" : percent_decode(pair.substr(equals + 1));
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return fields;
}

}  // namespace tinyweb
