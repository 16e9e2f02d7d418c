// tests/apps/misbehaving.cpp: apps that break the gateway contract, one symbol each, so that the
// tests can check that every fault gets the client a 500 and leaves the server serving:
//   ./part2/server build/tests/misbehaving.so:starts_twice
// Written against the raw C ABI (not gateway_app.hpp), to make each fault exactly.
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include "common/gateway_abi.h"

namespace {

const gateway_pair kText[] = {{{"Content-Type", 12}, {"text/plain", 10}}};

int start_ok(const gateway_call* c) {
  return c->start_response(c->server, "200 OK", kText, 1);
}

int never_starts_call(const gateway_call* c) {
  return c->write(c->server, "body", 4);
}

int starts_twice_call(const gateway_call* c) {
  start_ok(c);
  start_ok(c);
  return 0;
}

int bad_status_call(const gateway_call* c) {
  c->start_response(c->server, "OK 200", kText, 1);
  return 0;
}

int crlf_header_call(const gateway_call* c) {
  gateway_pair h[] = {{{"X-Injected", 10}, {"a\r\nSet-Cookie: evil=1", 21}}};
  c->start_response(c->server, "200 OK", h, 1);
  return 0;
}

int bad_header_name_call(const gateway_call* c) {
  gateway_pair h[] = {{{"Bad Name", 8}, {"x", 1}}};
  c->start_response(c->server, "200 OK", h, 1);
  return 0;
}

int hop_by_hop_call(const gateway_call* c) {
  gateway_pair h[] = {{{"Transfer-Encoding", 17}, {"chunked", 7}}};
  c->start_response(c->server, "200 OK", h, 1);
  return 0;
}

int wrong_length_call(const gateway_call* c) {
  gateway_pair h[] = {{{"Content-Length", 14}, {"100", 3}}};
  c->start_response(c->server, "200 OK", h, 1);
  return c->write(c->server, "short", 5);
}

int fails_call(const gateway_call* c) {
  start_ok(c);
  c->log_error(c->server, "something went wrong in the app");
  return 1;
}

// What gateway_app.hpp's run_app() prevents: an exception thrown straight across the C boundary
// would unwind through the server's frames. Here it is caught, as an app must, and reported.
int throws_call(const gateway_call* c) {
  try {
    throw std::runtime_error("database unreachable");
  } catch (const std::exception& e) {
    c->log_error(c->server, e.what());
    return -1;
  }
}

int status_1xx_call(const gateway_call* c) {
  return c->start_response(c->server, "100 Continue", kText, 1);
}

}  // namespace

// A const at namespace scope has internal linkage unless declared extern: `extern "C"` on each
// declaration makes it both extern and unmangled, so that dlsym() finds it by this name.
extern "C" const gateway_app never_starts = {GATEWAY_ABI_VERSION, "never_starts", never_starts_call, nullptr};
extern "C" const gateway_app starts_twice = {GATEWAY_ABI_VERSION, "starts_twice", starts_twice_call, nullptr};
extern "C" const gateway_app bad_status = {GATEWAY_ABI_VERSION, "bad_status", bad_status_call, nullptr};
extern "C" const gateway_app crlf_header = {GATEWAY_ABI_VERSION, "crlf_header", crlf_header_call, nullptr};
extern "C" const gateway_app bad_header_name = {GATEWAY_ABI_VERSION, "bad_header_name", bad_header_name_call,
                                                nullptr};
extern "C" const gateway_app hop_by_hop = {GATEWAY_ABI_VERSION, "hop_by_hop", hop_by_hop_call, nullptr};
extern "C" const gateway_app wrong_length = {GATEWAY_ABI_VERSION, "wrong_length", wrong_length_call, nullptr};
extern "C" const gateway_app fails = {GATEWAY_ABI_VERSION, "fails", fails_call, nullptr};
extern "C" const gateway_app throws = {GATEWAY_ABI_VERSION, "throws", throws_call, nullptr};
extern "C" const gateway_app status_1xx = {GATEWAY_ABI_VERSION, "status_1xx", status_1xx_call, nullptr};
extern "C" const gateway_app future_abi = {GATEWAY_ABI_VERSION + 1, "future_abi", start_ok, nullptr};
extern "C" const gateway_app no_call = {GATEWAY_ABI_VERSION, "no_call", nullptr, nullptr};

// An app whose init() refuses its argument, and one whose init() accepts it.
namespace {
int refusing_init(const char* argument, char* error, size_t size) {
  std::snprintf(error, size, "cannot use '%s'", argument ? argument : "(none)");
  return 1;
}
int accepting_init(const char*, char*, size_t) {
  return 0;
}
}  // namespace
extern "C" const gateway_app init_fails = {GATEWAY_ABI_VERSION, "init_fails", start_ok, refusing_init};
extern "C" const gateway_app init_ok = {GATEWAY_ABI_VERSION, "init_ok", start_ok, accepting_init};
