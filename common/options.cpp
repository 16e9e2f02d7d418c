// common/options.cpp (Part 1)
#include "common/options.hpp"

#include <cstdio>
#include <cstdlib>

ArgReader::ArgReader(int argc, char** argv, std::string_view usage)
    : argc_(argc), argv_(argv), usage_(usage) {}

bool ArgReader::next() {
  if (++index_ >= argc_) return false;
  current_ = argv_[index_];
  if (current_ == "--help" || current_ == "-h") {
    std::fwrite(usage_.data(), 1, usage_.size(), stdout);
    std::exit(0);
  }
  return true;
}

bool ArgReader::is(std::string_view name) const {
  return current_ == name || (current_.substr(0, name.size()) == name && current_.size() > name.size() &&
                              current_[name.size()] == '=');
}

bool ArgReader::is_positional() const {
  return current_.empty() || current_.front() != '-';
}

std::string ArgReader::text() {
  std::size_t equals = current_.find('=');
  if (equals != std::string_view::npos) return std::string(current_.substr(equals + 1));
  std::string name(current_);
  if (index_ + 1 >= argc_) fail(name + " needs a value");
  current_ = argv_[++index_];
  return std::string(current_);
}

long ArgReader::integer(long min, long max) {
  std::string name(current_.substr(0, current_.find('=')));
  std::string value = text();
  char* end = nullptr;
  long n = std::strtol(value.c_str(), &end, 10);
  if (value.empty() || *end != '\0' || n < min || n > max) {
    fail(name + " needs a whole number from " + std::to_string(min) + " to " + std::to_string(max) +
         ", not '" + value + "'");
  }
  return n;
}

double ArgReader::number(double min, double max) {
  std::string name(current_.substr(0, current_.find('=')));
  std::string value = text();
  char* end = nullptr;
  double n = std::strtod(value.c_str(), &end);
  if (value.empty() || *end != '\0' || !(n >= min && n <= max)) {
    char range[64];
    std::snprintf(range, sizeof range, "%g to %g", min, max);
    fail(name + " needs a number from " + range + ", not '" + value + "'");
  }
  return n;
}

std::chrono::milliseconds ArgReader::seconds(double min, double max) {
  return std::chrono::milliseconds(static_cast<long long>(number(min, max) * 1000 + 0.5));
}

void ArgReader::fail(const std::string& problem) const {
  std::fprintf(stderr, "%s: %s\n\n%.*s", argv_[0], problem.c_str(), static_cast<int>(usage_.size()),
               usage_.data());
  std::exit(2);
}

void ArgReader::reject() const {
  fail(is_positional() ? "unexpected argument '" + current() + "'" : "unknown option '" + current() + "'");
}
