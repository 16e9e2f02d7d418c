// part2_gateway/server.cpp: the server no longer knows what to answer. It loads an application
// named on its command line and, for each request, hands it the environ and start_response
// through the gateway interface (common/gateway_abi.h), the C++ analog of Python's WSGI.
//
// NOTES.md, Part 2, walks through this file.   make part2 && ./part2/server part2/environ.so
//                                              curl -v http://127.0.0.1:8888/any/path?x=1

// ---- includes --------------------------------------------------------------------------------
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <string>
#include <thread>

#include "common/connection.hpp"
#include "common/gateway.hpp"
#include "common/http_request.hpp"
#include "common/http_response.hpp"
#include "common/log.hpp"
#include "common/net.hpp"
#include "common/options.hpp"
#include "common/unique_fd.hpp"

// ---- limits and options ----------------------------------------------------------------------
// How many connections the kernel may hold for us while we are busy (REQUEST_QUEUE_SIZE).
constexpr int kRequestQueueSize = 128;

constexpr std::string_view kUsage = R"(usage: server [OPTIONS] [APP [ARGUMENT]]

Serves the gateway app APP over HTTP/1.1. APP is path/to/app.so or path/to/app.so:symbol (the
symbol defaults to "app"); ARGUMENT, if given, is handed to the app when it is loaded (the WSGI
bridge takes module:callable). Without APP the built-in hello app answers /hello.

  --host HOST   address to listen on (default 127.0.0.1; 0.0.0.0 for every interface)
  --port PORT   TCP port to listen on (default 8888; 0 lets the kernel choose one)
  --print-requests
                print each request to the log as it arrived, byte for byte
  --first-byte-timeout SECONDS
                close a connection that sends nothing for this long (default 2)
  --request-timeout SECONDS
                answer 408 to a request that is not whole after this long (default 10)
  --write-timeout SECONDS
                give up on a client that has not taken its answer after this long (default 10)
  --help        show this help
)";

struct Options {
  std::string host = "127.0.0.1";
  int port = 8888;
  bool print_requests = false;
  Timeouts timeouts;         // common/connection.hpp
  std::string app;           // empty: the built-in hello app
  std::string app_argument;  // for the app's init()
};

// The command line, read into Options; a mistake prints the usage and exits with status 2.
Options parse_options(int argc, char** argv) {
  Options options;
  for (ArgReader args(argc, argv, kUsage); args.next();) {
    if (args.is("--host")) {
      options.host = args.text();
    } else if (args.is("--port")) {
      options.port = static_cast<int>(args.integer(0, 65535));
    } else if (args.is("--print-requests")) {
      options.print_requests = true;
    } else if (args.is("--first-byte-timeout")) {
      options.timeouts.first_byte = args.seconds(0.001, 3600);
    } else if (args.is("--request-timeout")) {
      options.timeouts.request = args.seconds(0.001, 3600);
    } else if (args.is("--write-timeout")) {
      options.timeouts.write = args.seconds(0.001, 3600);
    } else if (args.is_positional() && options.app.empty()) {
      options.app = args.current();
    } else if (args.is_positional() && options.app_argument.empty()) {
      options.app_argument = args.current();
    } else {
      args.reject();
    }
  }
  return options;
}

// ---- socket setup ----------------------------------------------------------------------------
// A TCP socket listening on host:port. Part 3 takes this sequence apart, one call at a time.
UniqueFd open_listener(const Options& options) {
  SocketAddress address;
  std::string error;
  if (!resolve_address(options.host, options.port, address, error)) die(error);

  // SOCK_CLOEXEC: closed in any program this process starts (Part 3 says why; accept4() too).
  UniqueFd listener(socket(address.family(), SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!listener) die_errno("socket");
  int on = 1;  // SO_REUSEADDR: a restarted server can bind its port at once (Part 3 says why)
  if (setsockopt(listener.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) < 0) die_errno("setsockopt");
  if (bind(listener.get(), address.get(), address.length) < 0) die_errno("bind");
  if (listen(listener.get(), kRequestQueueSize) < 0) die_errno("listen");
  return listener;
}

// ---- request handling ------------------------------------------------------------------------
// The bytes of a request as they came, for the log: each CR and LF shown as \r and \n (a line
// ends after each \n), and any other byte that is not printable ASCII as \xHH, so that what a
// client sent cannot play tricks on the terminal that shows the log.
std::string show_bytes(std::string_view bytes) {
  std::string text;
  for (unsigned char c : bytes) {
    if (c == '\r') {
      text += "\\r";
    } else if (c == '\n') {
      text += "\\n\n";
    } else if (c >= 0x20 && c < 0x7f) {
      text += static_cast<char>(c);
    } else {
      char hex[5];
      std::snprintf(hex, sizeof hex, "\\x%02X", c);
      text += hex;
    }
  }
  if (!text.empty() && text.back() == '\n') text.pop_back();  // log_line() ends the line
  return text;
}

// The app answers each request now: it is loaded in main() and called in handle_connection().
// (Part 1's /inspect page went with its handle_request(): the environ app shows what a request
// carried, as the gateway hands it over.)

// ---- connection ------------------------------------------------------------------------------
// Steps 2 to 7 for one connection: read and parse a request, build the environ, call the app,
// build the response from what it gave, and send it. The caller closes the connection.
void handle_connection(int fd, const SocketAddress& server, const SocketAddress& client,
                       const gateway_app& app, const Options& options) {
  // Steps 2 and 3: read the request and parse it, together, since only the parser can tell
  // when the request is complete.
  RequestParser parser;
  std::string raw;  // with --print-requests: the bytes as they came
  ReadResult got = read_request(fd, parser, options.timeouts, options.print_requests ? &raw : nullptr);
  if (!raw.empty()) log_line("%s sent:\n%s", client.to_string().c_str(), show_bytes(raw).c_str());
  if (got.status == ReadStatus::Gone) {  // nothing to answer, such as a browser's unused preconnection
    log_line("%s %s", client.to_string().c_str(), got.detail.c_str());
    return;
  }
  const Request& request = parser.request();
  Response response = error_response(got.http_status, got.detail);
  if (got.status == ReadStatus::Complete) {
    // Step 4: the environ, every variable taken from the parsed request and the connection.
    Environ environ = build_environ(request, server, client);
    // Step 5: call the app with environ and start_response; it writes the body.
    AppResult result = call_app(app, environ);
    if (!result.fault.empty()) log_line("app fault: %s", result.fault.c_str());  // the client gets 500
    // Step 6: the response, from the status and headers given to start_response, and the body.
    response = build_response(result);
  }
  // Step 7: send it.
  bool include_body = request.method != "HEAD";  // HEAD: the same headers, no body
  if (!send_response(fd, response, options.timeouts, include_body)) {
    int error = errno;  // read before any other call can change it
    log_line("%s could not be sent the answer: %s", client.to_string().c_str(), std::strerror(error));
  }
  log_request(client.to_string(), request, response.status, include_body ? response.body.size() : 0);
  if (got.status == ReadStatus::Bad || parser.excess_bytes() > 0) drain_before_close(fd, options.timeouts);
}

// ---- main ------------------------------------------------------------------------------------
int main(int argc, char** argv) {
  Options options = parse_options(argc, argv);
  // Step 1: load the app, before listening, so that a bad APP is an error at once.
  const gateway_app& app = load_app(options.app, options.app_argument);
  log_line("Loaded app '%s' from %s", app.name,
           options.app.empty() ? "the server itself" : options.app.c_str());
  // Every answer has a Date header, and the C library reads its time-zone file (/etc/localtime)
  // the first time it converts a time: have it read now, once, before listening, and not while a
  // client waits (nor, from Part 5 on, in every child: a child starts from the parent's memory).
  tzset();
  UniqueFd listener = open_listener(options);
  SocketAddress bound;  // asked back from the kernel, which chose the port if we gave 0
  getsockname(listener.get(), bound.get(), &bound.length);
  log_line("Serving HTTP on %s port %d (http://%s/) ...", bound.ip().c_str(), bound.port(),
           bound.to_string().c_str());

  // Serve until stopped: Ctrl-C (SIGINT) or kill (SIGTERM) ends the process, and the kernel
  // closes its descriptors. (Part 6 catches those signals to stop more gently.)
  int last_accept_error = 0;  // a failing accept() is logged once, not each time it fails again
  while (true) {
    SocketAddress peer;
    UniqueFd client(accept4(listener.get(), peer.get(), &peer.length, SOCK_CLOEXEC));
    if (!client) {
      int error = errno;
      if (error != last_accept_error) log_line("accept: %s", std::strerror(error));
      last_accept_error = error;
      // Out of descriptors (Part 5 runs a server out of them): wait for one to be freed instead of
      // failing again at once, in a loop that would take all the CPU.
      if (error == EMFILE || error == ENFILE) std::this_thread::sleep_for(std::chrono::milliseconds(100));
      continue;
    }
    last_accept_error = 0;
    handle_connection(client.get(), bound, peer, app, options);
    client.reset();  // close(): the client sees the end of the connection
  }
}
