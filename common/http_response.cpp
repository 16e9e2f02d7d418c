// common/http_response.cpp (Part 1)
#include "common/http_response.hpp"

#include <algorithm>
#include <cstdio>

Response text_response(int status, std::string body) {
  Response response;
  response.status = status;
  response.headers.push_back({"Content-Type", std::string(kTextPlain)});
  response.body = std::move(body);
  return response;
}

Response error_response(int status, std::string_view detail) {
  std::string body = std::to_string(status) + " " + std::string(reason_phrase(status));
  if (!detail.empty()) body += ": " + std::string(detail);
  return text_response(status, body + "\n");
}

std::string_view reason_phrase(int status) {
  switch (status) {  // RFC 9110 15: the statuses these servers give of their own accord
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";  // an app's status comes with its own reason phrase
  }
}

std::string http_date(std::time_t when) {
  // Spelled out by hand: strftime's %a and %b follow the locale, and HTTP wants English.
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::tm tm{};
  gmtime_r(&when, &tm);
  char text[32];
  std::snprintf(text, sizeof text, "%s, %02d %s %04d %02d:%02d:%02d GMT", kDays[tm.tm_wday], tm.tm_mday,
                kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return text;
}

std::string serialize_response(const Response& response, bool include_body) {
  std::string out;
  out.reserve(256 + (include_body ? response.body.size() : 0));
  std::string_view reason = response.reason.empty() ? reason_phrase(response.status) : response.reason;
  out += "HTTP/1.1 " + std::to_string(response.status) + " ";
  out += reason;
  out += "\r\n";
  for (const Header& h : response.headers) out += h.name + ": " + h.value + "\r\n";

  auto has = [&](std::string_view name) {
    return std::any_of(response.headers.begin(), response.headers.end(),
                       [&](const Header& h) { return iequals(h.name, name); });
  };
  // 204 and 304 have no body, and RFC 9110 8.6 forbids a Content-Length on 204 and a made-up one
  // on 304 (it would have to be the length of the 200 answer the client already has).
  bool bodiless = response.status == 204 || response.status == 304;
  if (!bodiless && !response.close_delimited && !has("Content-Length")) {
    out += "Content-Length: " + std::to_string(response.body.size()) + "\r\n";
  }
  if (!has("Date")) out += "Date: " + http_date(std::time(nullptr)) + "\r\n";
  if (!has("Server")) out += "Server: " + std::string(kServerSoftware) + "\r\n";
  out += "Connection: close\r\n\r\n";
  if (include_body) out += response.body;
  return out;
}
