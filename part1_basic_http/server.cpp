// part1_basic_http/server.cpp: the first server. It listens on a TCP port; for each connection it
// reads one HTTP request, parses it, answers it and closes the connection.
//
// NOTES.md, Part 1, walks through this file.   make part1 && ./part1/server
//                                              curl -v http://127.0.0.1:8888/hello

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
#include "common/http_request.hpp"
#include "common/http_response.hpp"
#include "common/log.hpp"
#include "common/net.hpp"
#include "common/options.hpp"
#include "common/unique_fd.hpp"

// ---- limits and options ----------------------------------------------------------------------
// How many connections the kernel may hold for us while we are busy (REQUEST_QUEUE_SIZE).
constexpr int kRequestQueueSize = 128;

constexpr std::string_view kUsage = R"(usage: server [OPTIONS]

Serves /hello (and /inspect, which shows how the request was parsed) over HTTP/1.1.

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
  Timeouts timeouts;  // common/connection.hpp
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

// Where the request's URL came from: the target, or the Host header.
std::string describe_request(const Request& request) {
  std::string authority = request.authority.empty() ? request.header("Host").value_or("") : request.authority;
  HostAndPort url = split_host_port(authority);
  std::string host(url.host);
  std::string port = url.port.empty() ? "80 (the default for http)" : std::string(url.port);
  std::string text = "The request line\n";
  text += "  method   " + request.method + "\n";
  text += "  target   " + request.target + "\n";
  text += "  version  " + request.version + "\n\n";
  text += "The header fields (" + std::to_string(request.headers.size()) + ")\n";
  for (const Header& h : request.headers) text += "  " + h.name + ": " + h.value + "\n";
  text += "\nThe URL, put back together\n";
  text += "  scheme   http (this server speaks plain HTTP)\n";
  text += "  host     " + host + "\n";
  text += "  port     " + port + "\n";
  text += "  path     " + request.path + "\n";
  text += "  query    " + (request.query.empty() ? std::string("(none)") : request.query) + "\n\n";
  text += "The body: " + std::to_string(request.body.size()) + " bytes\n";
  return text;
}

// What to answer to one parsed request: the whole application of this stage.
Response handle_request(const Request& request) {
  if (request.path != "/hello" && request.path != "/inspect") return error_response(404, request.path);
  if (request.method != "GET" && request.method != "HEAD") {
    Response response = error_response(405, request.method + " " + request.path);
    response.headers.push_back({"Allow", "GET, HEAD"});
    return response;
  }
  if (request.path == "/inspect") return text_response(200, describe_request(request));
  return text_response(200, "Hello, World!");
}

// ---- connection ------------------------------------------------------------------------------
// Read one request from the client, answer it and log it. The caller closes the connection.
void handle_connection(int fd, const SocketAddress& client, const Options& options) {
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
  if (got.status == ReadStatus::Complete) response = handle_request(request);
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
    handle_connection(client.get(), peer, options);
    client.reset();  // close(): the client sees the end of the connection
  }
}
