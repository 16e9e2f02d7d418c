// common/gateway_app.cpp (Part 2)
#include "common/gateway_app.hpp"

#include <algorithm>
#include <cstring>
#include <exception>
#include <stdexcept>

std::string_view AppCall::get(std::string_view name) const {
  const gateway_pair* found =
      std::lower_bound(begin(), end(), name, [](const gateway_pair& p, std::string_view n) {
        return std::string_view(p.name.data, p.name.size) < n;
      });
  if (found == end() || std::string_view(found->name.data, found->name.size) != name) return {};
  return {found->value.data, found->value.size};
}

void AppCall::start_response(std::string_view status,
                             const std::vector<std::pair<std::string, std::string>>& headers) {
  std::vector<gateway_pair> pairs;
  for (const auto& [name, value] : headers)
    pairs.push_back({{name.data(), name.size()}, {value.data(), value.size()}});
  std::string status_text(status);  // the ABI takes a NUL-terminated status
  if (call_->start_response(call_->server, status_text.c_str(), pairs.data(), pairs.size()) != 0) {
    throw std::runtime_error("the server refused start_response");
  }
}

void AppCall::write(std::string_view bytes) {
  if (call_->write(call_->server, bytes.data(), bytes.size()) != 0)
    throw std::runtime_error("the server refused write");
}

void AppCall::log_error(const std::string& message) const {
  call_->log_error(call_->server, message.c_str());
}

int run_app(const gateway_call* call, void (*handler)(AppCall&)) {
  AppCall app_call(call);
  try {
    handler(app_call);
    return 0;
  } catch (const std::exception& e) {
    app_call.log_error(std::string("uncaught exception: ") + e.what());
  } catch (...) {
    app_call.log_error("uncaught exception of unknown type");
  }
  return 1;
}

void respond(AppCall& call, std::string_view status, std::string_view content_type, std::string_view body) {
  call.start_response(status, {{"Content-Type", std::string(content_type)}});
  call.write(body);
}

std::string percent_decode(std::string_view text) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && hex(text[i + 1]) >= 0 && hex(text[i + 2]) >= 0) {
      out += static_cast<char>(hex(text[i + 1]) * 16 + hex(text[i + 2]));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}
