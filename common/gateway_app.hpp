// common/gateway_app.hpp (Part 2): the app's side of the gateway interface, for apps written in C++.
//
//   void hello(AppCall& call) {
//     call.start_response("200 OK", {{"Content-Type", "text/plain; charset=utf-8"}});
//     call.write("Hello, World!");
//   }
//   extern "C" const gateway_app app = {
//       GATEWAY_ABI_VERSION, "hello", [](const gateway_call* c) { return run_app(c, hello); }, nullptr};
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/gateway_abi.h"

class AppCall {
 public:
  explicit AppCall(const gateway_call* call) : call_(call) {}

  // The environ variable `name`, or "" when the request did not give it.
  std::string_view get(std::string_view name) const;
  // Every environ variable, sorted by name.
  const gateway_pair* begin() const { return call_->environ; }
  const gateway_pair* end() const { return call_->environ + call_->environ_count; }

  // start_response(status, headers). Throws if the server refuses the call.
  void start_response(std::string_view status,
                      const std::vector<std::pair<std::string, std::string>>& headers);
  // Append to the body. Throws if the server refuses the call.
  void write(std::string_view bytes);
  void log_error(const std::string& message) const;

 private:
  const gateway_call* call_;
};

// Run `handler` for one call. An exception becomes a line in the server's log and a non-zero
// return: exceptions must not cross the C boundary, which has no idea what they are.
int run_app(const gateway_call* call, void (*handler)(AppCall&));

// A whole answer in one go: status, Content-Type and body.
void respond(AppCall& call, std::string_view status, std::string_view content_type, std::string_view body);

// %XX sequences decoded; malformed ones are left as they are. An app decodes a query string's
// fields with it (the server decodes PATH_INFO with it too).
std::string percent_decode(std::string_view text);
