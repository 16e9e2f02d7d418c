// common/gateway.hpp (Part 2): the server's side of the gateway interface (see gateway_abi.h).
//
// The steps of Part 2, as every later stage runs them:
//   load_app()       1. load the application named on the command line
//   build_environ()  4. build the environ from the parsed request
//   call_app()       5. call the app with environ and start_response, collect the body
//   build_response() 6. turn the app's status, headers and body into the response
#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/gateway_abi.h"
#include "common/http_request.hpp"
#include "common/http_response.hpp"
#include "common/net.hpp"

// Variable name -> value. A std::map keeps the names sorted, as the apps receive them.
using Environ = std::map<std::string, std::string>;

// The app named by `spec`, "path/to/app.so" or "path/to/app.so:symbol" (the symbol defaults to
// `app`), or the built-in hello app when `spec` is empty; its init() is called with `argument`
// (empty: none). On failure (no such file, no such symbol, another ABI version, an init that
// fails, an argument for an app that takes none) prints one line and exits with status 2.
const gateway_app& load_app(const std::string& spec, const std::string& argument);

// The environ for one request: the CGI variables of RFC 3875, one HTTP_* variable per request
// header, and the gateway's own "gateway.*" variables (the analogs of WSGI's "wsgi.*").
// `server` is the address the server listens on, `client` the other end of the connection.
Environ build_environ(const Request& request, const SocketAddress& server, const SocketAddress& client);

// What an app gave back for one request.
struct AppResult {
  bool started = false;             // start_response was called
  std::string status;               // "200 OK"
  std::vector<Header> headers;      // as given to start_response
  std::string body;                 // everything passed to write()
  std::string fault;                // the first breach of the contract, or empty
  std::vector<std::string> errors;  // lines the app wrote to log_error
};

// Call `app` with `environ`, checking the contract as wsgiref.validate would.
AppResult call_app(const gateway_app& app, const Environ& environ);

// The response for an app's result: its status, headers and body, or 500 if it broke the contract.
Response build_response(const AppResult& result);
