// part3_sockets/client.cpp: a load client, to see what a server does with many clients at once.
//
// It starts --max-clients clients together; each opens --max-conns connections, one after the
// other, sends GET on each and reads the answer. (LSBAWS's client3.py meant to do the same,
// but its `os._exit(0)` sits inside the connection loop, so each client opens only one.) With
// --hold every connection stays open until Ctrl-C, so that the server's descriptors and children
// can be watched while they live. At the end it reports what happened:
//
//   ./part3/client --max-clients 8 --max-conns 4
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <latch>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/net.hpp"
#include "common/options.hpp"
#include "common/unique_fd.hpp"

namespace {

constexpr std::string_view kUsage =
    R"(usage: client [--host HOST] [--port PORT] [--max-clients N] [--max-conns M]
              [--path PATH] [--hold] [--timeout SECONDS]

Starts N clients at once; each opens M connections one after the other, sends GET PATH on each
and reads the answer. Then reports connections made, answers read, and errors by kind.

  --host HOST        server address (default 127.0.0.1)
  --port PORT        server port (default 8888)
  --max-clients N    clients running at the same time (default 1)
  --max-conns M      connections each client opens (default 1)
  --path PATH        what to ask for (default /hello)
  --hold             keep every connection open after the report, until Ctrl-C or SIGTERM
  --timeout SECONDS  give up on a connect or an answer after this long (default 10)
  --help             show this help
)";

struct Options {
  std::string host = "127.0.0.1";
  int port = 8888;
  int clients = 1;
  int connections = 1;
  std::string path = "/hello";
  bool hold = false;
  double timeout = 10;
};

Options parse_options(int argc, char** argv) {
  Options options;
  for (ArgReader args(argc, argv, kUsage); args.next();) {
    if (args.is("--host")) {
      options.host = args.text();
    } else if (args.is("--port")) {
      options.port = static_cast<int>(args.integer(1, 65535));
    } else if (args.is("--max-clients")) {
      options.clients = static_cast<int>(args.integer(1, 10000));
    } else if (args.is("--max-conns")) {
      options.connections = static_cast<int>(args.integer(1, 1000000));
    } else if (args.is("--path")) {
      options.path = args.text();
    } else if (args.is("--hold")) {
      options.hold = true;
    } else if (args.is("--timeout")) {
      options.timeout = args.number(0.1, 3600);
    } else {
      args.reject();
    }
  }
  return options;
}

// What can happen to one connection.
enum Outcome { kAnswered, kRefused, kReset, kClosed, kTimeout, kNoDescriptors, kOther, kOutcomes };
constexpr const char* kOutcomeNames[] = {"answered", "refused", "reset", "closed",
                                         "timeout",  "emfile",  "other"};

Outcome outcome_of(int error) {
  switch (error) {
    case ECONNREFUSED: return kRefused;
    case ECONNRESET:
    case EPIPE: return kReset;
    case ETIMEDOUT:
    case EAGAIN:
    case EINPROGRESS: return kTimeout;  // SO_SNDTIMEO makes a slow connect() fail with EINPROGRESS
    case EMFILE:
    case ENFILE: return kNoDescriptors;
    default: return kOther;
  }
}

struct Tally {
  std::mutex mutex;
  long long connected = 0;  // up to --max-clients x --max-conns: more than an int holds
  long long outcomes[kOutcomes] = {};
  std::map<int, long long> statuses;  // status code -> answers with it
  std::vector<UniqueFd> held;         // with --hold
};

// Read one HTTP response: up to the end of the header section, then Content-Length bytes.
// Returns its status code, or -1 with errno set. Not reading until the server closes is on
// purpose: a server that forgets to close (Part 5) still gets its answer counted.
int read_answer(int fd) {
  std::string data;
  char buffer[4096];
  while (true) {
    std::size_t end = data.find("\r\n\r\n");
    if (end != std::string::npos) {
      std::size_t length = 0;
      for (std::size_t at = data.find('\n'); at < end; at = data.find('\n', at + 1)) {
        if (strncasecmp(data.c_str() + at + 1, "Content-Length:", 15) == 0) {
          length = std::strtoul(data.c_str() + at + 16, nullptr, 10);
        }
      }
      if (data.size() >= end + 4 + length) return std::atoi(data.c_str() + 9);  // "HTTP/1.1 200"
    }
    ssize_t n = recv(fd, buffer, sizeof buffer, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -1;
    if (n == 0) {
      errno = 0;  // the server closed before the answer was complete
      return -1;
    }
    data.append(buffer, static_cast<std::size_t>(n));
  }
}

// One connection: connect, send the request, read the answer.
Outcome run_connection(const Options& options, const SocketAddress& server, const std::string& request,
                       Tally& tally) {
  UniqueFd fd(socket(server.family(), SOCK_STREAM, 0));
  if (!fd) return outcome_of(errno);
  timeval limit{static_cast<time_t>(options.timeout),
                static_cast<suseconds_t>((options.timeout - static_cast<long>(options.timeout)) * 1e6)};
  setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
  setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
  if (connect(fd.get(), server.get(), server.length) < 0) return outcome_of(errno);
  {
    std::lock_guard lock(tally.mutex);
    ++tally.connected;
  }
  for (std::string_view rest = request; !rest.empty();) {  // a short send is progress: send the rest
    ssize_t n = send(fd.get(), rest.data(), rest.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return outcome_of(errno);
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
  int status = read_answer(fd.get());
  if (status < 0) return errno == 0 ? kClosed : outcome_of(errno);
  std::lock_guard lock(tally.mutex);
  ++tally.statuses[status];
  if (options.hold) tally.held.push_back(std::move(fd));
  return kAnswered;
}

volatile std::sig_atomic_t g_stop = 0;
void on_stop(int) {
  g_stop = 1;
}

// With --hold: wait for SIGINT or SIGTERM. The signals are blocked until sigsuspend() unblocks
// them and waits in one step, so that one arriving just before the wait cannot be missed.
void wait_for_stop() {
  sigset_t stops, before;
  sigemptyset(&stops);
  sigaddset(&stops, SIGINT);
  sigaddset(&stops, SIGTERM);
  sigprocmask(SIG_BLOCK, &stops, &before);
  struct sigaction action {};
  action.sa_handler = on_stop;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  while (!g_stop) sigsuspend(&before);
}

}  // namespace

int main(int argc, char** argv) {
  Options options = parse_options(argc, argv);
  SocketAddress server;
  std::string error;
  if (!resolve_address(options.host, options.port, server, error)) {
    std::fprintf(stderr, "client: %s\n", error.c_str());
    return 2;
  }
  // Host names the server as a URL would: an IPv6 address in brackets (RFC 9110 7.2, RFC 3986 3.2.2).
  std::string host = options.host.find(':') == std::string::npos ? options.host : "[" + options.host + "]";
  std::string request = "GET " + options.path + " HTTP/1.1\r\nHost: " + host + ":" +
                        std::to_string(options.port) + "\r\nConnection: close\r\n\r\n";

  // Start every client at the same moment, so that they really arrive together.
  Tally tally;
  std::latch start(1);
  std::vector<std::thread> clients;
  for (int c = 0; c < options.clients; ++c) {
    clients.emplace_back([&] {
      start.wait();
      for (int i = 0; i < options.connections; ++i) {
        Outcome outcome = run_connection(options, server, request, tally);
        std::lock_guard lock(tally.mutex);
        ++tally.outcomes[outcome];
      }
    });
  }
  auto started = std::chrono::steady_clock::now();
  start.count_down();
  for (std::thread& t : clients) t.join();
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  std::printf("clients           %d x %d connections\n", options.clients, options.connections);
  std::printf("connections made  %lld\n", tally.connected);
  std::printf("answers read      %lld", tally.outcomes[kAnswered]);
  const char* separator = "  (";
  for (auto [status, count] : tally.statuses) {
    std::printf("%s%d: %lld", separator, status, count);
    separator = ", ";
  }
  std::printf("%s\nerrors           ", tally.statuses.empty() ? "" : ")");
  for (int kind = kRefused; kind < kOutcomes; ++kind) {
    std::printf(" %s %lld%s", kOutcomeNames[kind], tally.outcomes[kind], kind + 1 < kOutcomes ? "," : "\n");
  }
  std::printf("elapsed           %.2f s\n", elapsed);

  if (options.hold) {
    std::printf("holding %zu connections open; Ctrl-C to close them\n", tally.held.size());
    std::fflush(stdout);
    wait_for_stop();
  }
  long long wanted = static_cast<long long>(options.clients) * options.connections;  // up to 10^10
  return tally.outcomes[kAnswered] == wanted ? 0 : 1;
}
