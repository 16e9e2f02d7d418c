// common/unique_fd.hpp (Part 1): an owning file descriptor.
//
// A descriptor is a number the kernel gave us (Part 4); forgetting to close one is a leak that
// only shows when the process runs out of them (Part 5). UniqueFd closes its descriptor when it
// goes out of scope, so every early return closes too. `reset()` closes on purpose, which is how
// the servers spell out "close now" where the timing is the lesson.
#pragma once

#include <unistd.h>

#include <utility>

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) noexcept : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    reset(other.release());
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  int get() const noexcept { return fd_; }
  explicit operator bool() const noexcept { return fd_ >= 0; }

  // Give up ownership without closing: the caller now owns the number.
  int release() noexcept { return std::exchange(fd_, -1); }

  // Close the descriptor held (if any) and hold `fd` instead. close() is not retried on EINTR:
  // on Linux the descriptor is released even when close() reports EINTR.
  void reset(int fd = -1) noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};
