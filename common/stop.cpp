// common/stop.cpp
#include "common/stop.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <ctime>

namespace {

volatile std::sig_atomic_t g_stop = 0;
int g_listen_fd = -1;
pid_t g_server_pid = 0;

// A signal handler may only call async-signal-safe functions (signal-safety(7)): getpid() and
// shutdown() are on that list. On Linux, shutdown() of a listening socket wakes a blocked accept(),
// which fails with EINVAL, as does every accept() after it. Only the process that installed the
// handler shuts the socket down: a child of Part 5 that inherited the handler must not touch the
// socket its parent listens on.
void on_stop_signal(int) {
  int saved_errno = errno;
  g_stop = 1;
  if (g_listen_fd >= 0 && getpid() == g_server_pid) shutdown(g_listen_fd, SHUT_RD);
  errno = saved_errno;
}

}  // namespace

void install_stop_handlers(int listen_fd) {
  g_listen_fd = listen_fd;
  g_server_pid = getpid();
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

bool stop_requested() {
  return g_stop != 0;
}

void pause_for(double seconds) {
  timespec left{};
  left.tv_sec = static_cast<time_t>(seconds);
  left.tv_nsec = static_cast<long>((seconds - static_cast<double>(left.tv_sec)) * 1e9);
  // nanosleep() stops early with EINTR when a signal arrives and says how much time is left.
  while (!stop_requested() && nanosleep(&left, &left) == -1 && errno == EINTR) {
  }
}
