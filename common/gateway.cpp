// common/gateway.cpp (Part 2): loading apps, building environ, calling apps and checking what they do.
#include "common/gateway.hpp"

#include <dlfcn.h>

#include <algorithm>

#include "common/gateway_app.hpp"
#include "common/hello_app.hpp"
#include "common/log.hpp"

const gateway_app& load_app(const std::string& spec, const std::string& argument) {
  if (spec.empty()) return hello_app;
  std::string path = spec;
  std::string symbol = "app";
  std::size_t colon = spec.rfind(':');
  if (colon != std::string::npos && spec.find('/', colon) == std::string::npos) {
    path = spec.substr(0, colon);
    symbol = spec.substr(colon + 1);
  }
  if (path.empty() || symbol.empty()) die("APP must be path/to/app.so[:symbol], not '" + spec + "'", 2);
  // A bare file name means one in the current directory: dlopen() itself would search only the
  // system's library directories.
  if (path.find('/') == std::string::npos) path = "./" + path;

  // RTLD_NOW: resolve every symbol the app needs now, so a broken app fails here, at start-up,
  // not halfway through a request. RTLD_LOCAL: its symbols stay its own.
  void* library = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (library == nullptr) die(std::string("cannot load app: ") + dlerror(), 2);
  const auto* app = static_cast<const gateway_app*>(dlsym(library, symbol.c_str()));
  if (app == nullptr) die("cannot load app: " + path + " has no symbol '" + symbol + "'", 2);
  if (app->abi_version != GATEWAY_ABI_VERSION) {
    die("cannot load app: " + path + ":" + symbol + " was built for gateway ABI " +
            std::to_string(app->abi_version) + ", this server speaks " + std::to_string(GATEWAY_ABI_VERSION),
        2);
  }
  if (app->call == nullptr) die("cannot load app: " + path + ":" + symbol + " has no call function", 2);
  if (app->init == nullptr && !argument.empty()) die("app " + path + ":" + symbol + " takes no argument", 2);
  if (app->init != nullptr) {
    char error[512] = "";
    if (app->init(argument.empty() ? nullptr : argument.c_str(), error, sizeof error) != 0) {
      error[sizeof error - 1] = '\0';
      die("app " + path + ":" + symbol + " failed to start: " + error, 2);
    }
  }
  return *app;  // never dlclose()d: the app lives as long as the server
}

namespace {

// "X-Forwarded-For" -> "HTTP_X_FORWARDED_FOR" (RFC 3875 4.1.18). ASCII only, whatever the
// locale an app may have set: a header name is a token, and tokens are ASCII.
std::string cgi_header_name(std::string_view name) {
  std::string key = "HTTP_";
  for (char c : name) key += c == '-' ? '_' : c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
  return key;
}

}  // namespace

Environ build_environ(const Request& request, const SocketAddress& server, const SocketAddress& client) {
  Environ environ;
  // The CGI variables (RFC 3875 4.1), from the request line and the connection.
  environ["REQUEST_METHOD"] = request.method;
  environ["SCRIPT_NAME"] = "";  // the app is mounted at the root: all of the path is PATH_INFO
  environ["PATH_INFO"] = percent_decode(request.path);
  environ["QUERY_STRING"] = request.query;
  environ["SERVER_PROTOCOL"] = request.version;
  environ["SERVER_SOFTWARE"] = kServerSoftware;
  std::string host = request.authority.empty() ? request.header("Host").value_or("") : request.authority;
  environ["SERVER_NAME"] = host.empty() ? server.ip() : std::string(split_host_port(host).host);
  environ["SERVER_PORT"] = std::to_string(server.port());
  environ["REMOTE_ADDR"] = client.ip();
  environ["REMOTE_PORT"] = std::to_string(client.port());
  if (auto type = request.header("Content-Type")) environ["CONTENT_TYPE"] = *type;
  if (request.header("Content-Length") || request.header("Transfer-Encoding")) {
    environ["CONTENT_LENGTH"] = std::to_string(request.body.size());  // of the body as decoded
  }

  // One HTTP_* variable per header field; repeated fields joined with ", ". A name with '_' is
  // left out (as nginx and Apache do): "X_User" would otherwise pose as "X-User".
  for (const Header& h : request.headers) {
    if (iequals(h.name, "Content-Type") || iequals(h.name, "Content-Length")) continue;
    if (h.name.find('_') != std::string::npos) continue;
    auto [it, inserted] = environ.try_emplace(cgi_header_name(h.name), h.value);
    if (!inserted) it->second += ", " + h.value;
  }

  // The gateway's own variables, the analogs of WSGI's wsgi.* (PEP 3333).
  environ["gateway.version"] = "1.0";
  environ["gateway.url_scheme"] = "http";
  environ["gateway.input"] = request.body;  // the whole body: the server read it all (Part 1)
  environ["gateway.errors"] = "log_error";  // a stream cannot be a string: see gateway_call
  environ["gateway.multithread"] = "false";
  environ["gateway.multiprocess"] = "false";  // one process serves every request
  environ["gateway.run_once"] = "false";
  return environ;
}

namespace {

// Headers that describe the connection, not the response: the server's business alone
// (PEP 3333 forbids an app to send them).
bool is_hop_by_hop(std::string_view name) {
  for (std::string_view h : {"Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "TE",
                             "Trailer", "Transfer-Encoding", "Upgrade"}) {
    if (iequals(name, h)) return true;
  }
  return false;
}

// "200 OK": three digits (a final status, 200 to 599), a space, and a printable reason phrase.
bool is_valid_status(std::string_view status) {
  if (status.size() < 4 || status[3] != ' ') return false;
  if (!std::all_of(status.begin(), status.begin() + 3, [](char c) { return c >= '0' && c <= '9'; }))
    return false;
  if (status[0] < '2' || status[0] > '5') return false;
  return std::all_of(status.begin() + 4, status.end(), [](char c) {
    unsigned char u = static_cast<unsigned char>(c);
    return u == '\t' || (u >= 0x20 && u != 0x7f);
  });
}

bool has_control_bytes(std::string_view value) {
  return std::any_of(value.begin(), value.end(), [](char c) {
    unsigned char u = static_cast<unsigned char>(c);
    return (u < 0x20 && u != '\t') || u == 0x7f;
  });
}

// What the log may show of text from an app: no control bytes, and not too much of it.
std::string printable(std::string_view text) {
  std::string out(text.substr(0, 200));
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  }
  return out;
}

// The first fault is the one reported; the call that made it is refused with -1.
int refuse(AppResult& result, std::string fault) {
  if (result.fault.empty()) result.fault = std::move(fault);
  return -1;
}

// The start_response callable handed to the app: it records the status and headers, checking
// each (wsgiref.validate checks the same).
int on_start_response(void* server, const char* status, const gateway_pair* headers, size_t count) {
  AppResult& result = *static_cast<AppResult*>(server);
  if (result.started) return refuse(result, "start_response called twice");
  result.started = true;
  if (status == nullptr || !is_valid_status(status)) {
    return refuse(result, "malformed status '" + printable(status ? status : "(null)") + "'");
  }
  result.status = status;
  for (size_t i = 0; i < count; ++i) {
    std::string_view name(headers[i].name.data, headers[i].name.size);
    std::string_view value(headers[i].value.data, headers[i].value.size);
    if (!is_token(name)) return refuse(result, "malformed header name '" + printable(name) + "'");
    if (has_control_bytes(value)) {
      return refuse(result, "header " + std::string(name) + " has a control byte (CR, LF, ...) in its value");
    }
    if (is_hop_by_hop(name))
      return refuse(result, "hop-by-hop header " + std::string(name) + " is the server's");
    result.headers.push_back({std::string(name), std::string(value)});
  }
  return 0;
}

int on_write(void* server, const char* data, size_t size) {
  AppResult& result = *static_cast<AppResult*>(server);
  if (!result.started) return refuse(result, "write() before start_response");
  result.body.append(data, size);
  return 0;
}

void on_log_error(void* server, const char* message) {
  AppResult& result = *static_cast<AppResult*>(server);
  std::string line = printable(message ? message : "");
  log_line("app error: %s", line.c_str());
  result.errors.push_back(std::move(line));
}

}  // namespace

AppResult call_app(const gateway_app& app, const Environ& environ) {
  std::vector<gateway_pair> pairs;
  pairs.reserve(environ.size());
  for (const auto& [name, value] : environ) {
    pairs.push_back({{name.data(), name.size()}, {value.data(), value.size()}});
  }
  AppResult result;
  gateway_call call{pairs.data(), pairs.size(), &result, on_start_response, on_write, on_log_error};
  int status = app.call(&call);

  if (status != 0) refuse(result, "the app reported failure (returned " + std::to_string(status) + ")");
  if (!result.started) refuse(result, "the app never called start_response");
  // An answer to HEAD may carry the Content-Length that GET would have, with no body at all
  // (RFC 9110 9.3.2): only other answers must have a body of the length they announce.
  auto method = environ.find("REQUEST_METHOD");
  bool head = method != environ.end() && method->second == "HEAD";
  if ((result.status.starts_with("204") || result.status.starts_with("304")) && !result.body.empty()) {
    refuse(result,
           "a body with status " + result.status.substr(0, 3) + ", which has none");  // RFC 9110 15.3.5
  }
  for (const Header& h : result.headers) {
    if (!head && iequals(h.name, "Content-Length") && h.value != std::to_string(result.body.size())) {
      refuse(result, "Content-Length " + printable(h.value) + " but a body of " +
                         std::to_string(result.body.size()) + " bytes");
    }
  }
  return result;
}

Response build_response(const AppResult& result) {
  if (!result.fault.empty()) return error_response(500, "the application failed; the server log says why");
  Response response;
  response.status = std::stoi(result.status.substr(0, 3));
  response.reason = result.status.substr(4);
  response.headers = result.headers;
  response.body = result.body;
  return response;
}
