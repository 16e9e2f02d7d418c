// common/options.hpp (Part 1): reading a server's command line.
//
// Each stage lists its own options in its server.cpp; this reader only does the chores:
// "--name value" and "--name=value", numbers with ranges, --help, and a clear error with exit
// status 2 for anything it does not understand.
//
//   for (ArgReader args(argc, argv, kUsage); args.next();) {
//     if (args.is("--port")) opt.port = args.integer(0, 65535);
//     else args.reject();
//   }
#pragma once

#include <chrono>
#include <string>
#include <string_view>

class ArgReader {
 public:
  ArgReader(int argc, char** argv, std::string_view usage);

  // Move to the next argument. Prints the usage and exits 0 on --help or -h.
  bool next();
  // Whether the current argument is the option `name` (as "--name" or "--name=value").
  bool is(std::string_view name) const;
  // Whether the current argument is not an option at all (such as an app to load).
  bool is_positional() const;
  // The current argument itself.
  std::string current() const { return std::string(current_); }

  // The value of the current option, from after '=' or from the next argument.
  std::string text();
  long integer(long min, long max);
  double number(double min, double max);
  // A duration given in seconds ("2", "0.5"), from `min` to `max` seconds.
  std::chrono::milliseconds seconds(double min, double max);

  // Print `problem` and the usage to standard error and exit with status 2.
  [[noreturn]] void fail(const std::string& problem) const;
  // An argument no option claimed.
  [[noreturn]] void reject() const;

 private:
  int argc_;
  char** argv_;
  std::string_view usage_;
  int index_ = 0;
  std::string_view current_;
};
