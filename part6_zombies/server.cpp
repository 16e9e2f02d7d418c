// part6_zombies/server.cpp: the course's final server. Part 5's concurrent server, which now
// handles signals: a SIGCHLD handler reaps every child that has ended, so none is left a zombie,
// and accept(), interrupted by that signal, is called again. Then a clean stop: on SIGINT or
// SIGTERM it stops accepting, lets its children finish the answers they owe, and reaps them all.
//
// NOTES.md, Part 6, walks through this file.   make part6 && ./part6/server
//                                              ./part6/client --max-clients 128

// ---- includes --------------------------------------------------------------------------------
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "common/connection.hpp"
#include "common/gateway.hpp"
#include "common/http_request.hpp"
#include "common/http_response.hpp"
#include "common/log.hpp"
#include "common/net.hpp"
#include "common/options.hpp"
#include "common/proc.hpp"
#include "common/unique_fd.hpp"

// ---- limits and options ----------------------------------------------------------------------
// How many connections the kernel may hold for us while we are busy (REQUEST_QUEUE_SIZE): the
// default of --backlog.
constexpr int kRequestQueueSize = 128;

constexpr std::string_view kUsage = R"(usage: server [OPTIONS] [APP [ARGUMENT]]

Serves the gateway app APP over HTTP/1.1. APP is path/to/app.so or path/to/app.so:symbol (the
symbol defaults to "app"); ARGUMENT, if given, is handed to the app when it is loaded (the WSGI
bridge takes module:callable). Without APP the built-in hello app answers /hello. Whatever the
app, /fds shows the server's file descriptors.

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
  --backlog N   connections the kernel may queue while the server is busy (default 128)
  --delay SECONDS
                pause after answering each request, before closing the connection: each
                child pauses on its own, so other clients are served meanwhile
  --shutdown-grace SECONDS
                at a stop, how long the children still answering may take to finish
                before they are killed (default 5)
  --help        show this help

Demonstrations of the bugs this stage is about (off by default):
  --parent-keeps-client   the parent does not close its copy of each client socket: clients
                          never see the connection end, and the parent runs out of descriptors
  --child-keeps-listener  each child keeps its copy of the listening socket open
  --no-content-length     answer without Content-Length: the body ends where the connection
                          does, as the servers of LSBAWS answered (then, with
                          --parent-keeps-client, even curl waits for an end that never comes)
  --reap=wait             reap with one wait() per SIGCHLD, LSBAWS's first attempt, which
                          leaves zombies when signals are lost (default: --reap=waitpid, a
                          waitpid(-1, WNOHANG) loop that leaves none)
  --eintr=fatal           treat an accept() interrupted by SIGCHLD as an error and exit, as the
                          server of LSBAWS did: it dies when its first child ends (default:
                          --eintr=restart, call accept() again)
)";

struct Options {
  std::string host = "127.0.0.1";
  int port = 8888;
  bool print_requests = false;
  Timeouts timeouts;  // common/connection.hpp
  int backlog = kRequestQueueSize;
  double delay = 0;          // seconds
  std::string app;           // empty: the built-in hello app
  std::string app_argument;  // for the app's init()
  std::chrono::milliseconds shutdown_grace{5000};

  bool parent_keeps_client = false;  // the demonstrations
  bool child_keeps_listener = false;
  bool no_content_length = false;
  bool reap_with_wait = false;
  bool eintr_fatal = false;
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
    } else if (args.is("--backlog")) {
      options.backlog = static_cast<int>(args.integer(1, 65535));
    } else if (args.is("--delay")) {
      options.delay = args.number(0, 3600);
    } else if (args.is("--shutdown-grace")) {
      options.shutdown_grace = args.seconds(0, 3600);
    } else if (args.is("--parent-keeps-client")) {
      options.parent_keeps_client = true;
    } else if (args.is("--child-keeps-listener")) {
      options.child_keeps_listener = true;
    } else if (args.is("--no-content-length")) {
      options.no_content_length = true;
    } else if (args.is("--reap")) {
      std::string how = args.text();
      if (how != "wait" && how != "waitpid") args.fail("--reap is wait or waitpid, not '" + how + "'");
      options.reap_with_wait = how == "wait";
    } else if (args.is("--eintr")) {
      std::string how = args.text();
      if (how != "restart" && how != "fatal") args.fail("--eintr is restart or fatal, not '" + how + "'");
      options.eintr_fatal = how == "fatal";
    } else if (args.is_positional() && options.app.empty()) {
      options.app = args.current();
    } else if (args.is_positional() && options.app_argument.empty()) {
      options.app_argument = args.current();
    } else {
      args.reject();
    }
  }
  return options;
}

// ---- socket setup ----------------------------------------------------------------------------
// The server's side of the socket sequence, one call at a time: socket, setsockopt, bind, listen.
// (A client calls only socket and connect: its kernel picks a free ephemeral port for it.)
UniqueFd open_listener(const Options& options) {
  SocketAddress address;
  std::string error;
  if (!resolve_address(options.host, options.port, address, error)) die(error);

  // 1. Create a TCP/IP socket: an endpoint of the address's family (IPv4 or IPv6) that carries a
  //    byte stream (SOCK_STREAM: TCP). The kernel answers with a new file descriptor. SOCK_CLOEXEC
  //    closes it in any program this process starts (exec): an app's helper has no use for it.
  UniqueFd listener(socket(address.family(), SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!listener) die_errno("socket");
  log_line("socket()     -> descriptor %d", listener.get());

  // 2. Set its options. SO_REUSEADDR lets a restarted server bind its port at once: the
  //    connections of its previous run linger in TIME_WAIT for a minute, and without this option
  //    bind() would fail with "Address already in use" until they are gone.
  int on = 1;
  if (setsockopt(listener.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) < 0) die_errno("setsockopt");
  log_line("setsockopt() SO_REUSEADDR %s", on ? "on" : "off");

  // 3. Bind the local address: the IP and port that clients will connect to.
  if (bind(listener.get(), address.get(), address.length) < 0) die_errno("bind");
  log_line("bind()       %s", address.to_string().c_str());

  // 4. Listen: the socket becomes passive. From now on the kernel completes connections for us
  //    and queues them, up to `backlog` of them, until accept() takes each one.
  if (listen(listener.get(), options.backlog) < 0) die_errno("listen");
  log_line("listen()     backlog %d", options.backlog);
  return listener;
}

// A TCP connection is named by its socket pair: (local IP, local port, foreign IP, foreign port).
// Our end has the port the server listens on; the client's, the ephemeral port it was given.
// getsockname() gives our end and getpeername() the client's. A listener bound to one address
// (127.0.0.1) gives every connection that same end, which we know already: only one bound to
// every address (0.0.0.0, ::) must ask which of them the client reached. A second line says
// what the new descriptor points to; both go out in one write, as one event.
void log_socket_pair(int fd, const SocketAddress& listening) {
  SocketAddress local = listening;
  SocketAddress foreign;
  if (listening.is_any()) getsockname(fd, local.get(), &local.length);
  getpeername(fd, foreign.get(), &foreign.length);
  log_line("accept()     -> descriptor %d, socket pair (%s, %d, %s, %d)\n             new descriptor %s", fd,
           local.ip().c_str(), local.port(), foreign.ip().c_str(), foreign.port(),
           describe_descriptor(fd).c_str());
}

// ---- reaping children ------------------------------------------------------------------------
// A child that ends stays a zombie until its parent waits for it; the kernel tells the parent with
// SIGCHLD. The handler waits, and counts; it does nothing else, since a signal may interrupt the
// program anywhere, even inside malloc() or a log write, and a handler may only call functions that
// are async-signal-safe (signal-safety(7)), which waitpid() is. The main loop logs the count.
volatile std::sig_atomic_t g_reaped = 0;  // children reaped so far
bool g_reap_with_wait = false;            // --reap=wait

// The SIGCHLD handler: reap the children that have ended.
void reap_children(int) {
  int saved_errno = errno;  // waitpid() sets errno: the code the signal interrupted must not see it change
  if (g_reap_with_wait) {
    // The first attempt: one wait() per signal. But signals are not queued: children that end
    // while a SIGCHLD is already pending make no signal of their own, and stay zombies.
    if (wait(nullptr) > 0) g_reaped = g_reaped + 1;
  } else {
    // The fix: reap every child that has ended, however many signals announced them. WNOHANG:
    // when the children left are all still running, return 0 at once instead of waiting for one.
    while (waitpid(-1, nullptr, WNOHANG) > 0) g_reaped = g_reaped + 1;
  }
  errno = saved_errno;
}

// Reap children from now on. No SA_RESTART in the flags: a SIGCHLD that arrives while accept()
// waits makes accept() fail with EINTR, "Interrupted system call", and main() must call it again.
// With SA_RESTART the kernel would restart accept() itself (glibc's signal() sets it; Python,
// since 3.5, retries interrupted calls itself): that is why the crash LSBAWS shows may not happen
// elsewhere. SA_NOCLDSTOP: no signal for children that are merely stopped.
void install_reaper(bool with_wait) {
  g_reap_with_wait = with_wait;
  struct sigaction action {};
  action.sa_handler = reap_children;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_NOCLDSTOP;
  sigaction(SIGCHLD, &action, nullptr);
}

// ---- a clean stop ----------------------------------------------------------------------------
// Until now Ctrl-C (SIGINT, sent to the whole process group) ended the server and its children at
// once, by its default action, whatever they were doing; kill (SIGTERM, to the parent alone) ended
// the parent and left its children running, orphans. Now the parent catches both, stops accepting,
// has every child finish the answer it owes, and reaps them all before it exits.
volatile std::sig_atomic_t g_stop = 0;  // set once SIGINT or SIGTERM has arrived
int g_listen_fd = -1;

// The SIGINT and SIGTERM handler. shutdown() is async-signal-safe, and on Linux shutting a
// listening socket down wakes a blocked accept() and makes every later one fail: no signal can
// slip in between the loop's test of g_stop and its call to accept().
void on_stop_signal(int) {
  int saved_errno = errno;
  g_stop = 1;
  shutdown(g_listen_fd, SHUT_RD);
  errno = saved_errno;
}

void install_stop_handlers(int listen_fd) {
  g_listen_fd = listen_fd;
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;  // no SA_RESTART, as for SIGCHLD: accept() returns at once
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

// Hold SIGINT and SIGTERM back, or let them through. A held signal is not lost: it stays pending
// until it is let through. The parent holds them across fork(), so that no stop reaches a child
// before the child has given them back their default action; a child holds them while it owes
// a client its answer, and dies of a stop that came meanwhile as soon as it lets them through.
void hold_stop_signals(bool hold) {
  sigset_t stops;
  sigemptyset(&stops);
  sigaddset(&stops, SIGINT);
  sigaddset(&stops, SIGTERM);
  sigprocmask(hold ? SIG_BLOCK : SIG_UNBLOCK, &stops, nullptr);
}

// In a new child: the parent's handlers are not the child's. SIGCHLD: a child has no children of
// its own to reap, and a process an app starts must keep its exit status for the app. SIGINT and
// SIGTERM: their default action, which ends the child.
void restore_default_signals() {
  struct sigaction action {};
  action.sa_handler = SIG_DFL;
  sigemptyset(&action.sa_mask);
  for (int signal_number : {SIGCHLD, SIGINT, SIGTERM}) sigaction(signal_number, &action, nullptr);
}

// The PIDs of this process's children not reaped yet (running, or zombies), from the parent field
// of every /proc/PID/stat (Part 4). Empty if /proc cannot be read.
std::vector<pid_t> child_processes() {
  std::vector<pid_t> children;
  DIR* dir = opendir("/proc");
  if (dir == nullptr) return children;
  while (dirent* entry = readdir(dir)) {
    pid_t pid = std::atoi(entry->d_name);
    std::ifstream file("/proc/" + std::string(entry->d_name) + "/stat");
    std::string stat;
    if (pid <= 0 || !std::getline(file, stat)) continue;
    // "PID (name) STATE PPID ...": the name may hold spaces and parentheses; read after the last ')'.
    std::size_t paren = stat.rfind(')');
    char state = 0;
    int parent = 0;
    if (paren != std::string::npos && std::sscanf(stat.c_str() + paren + 1, " %c %d", &state, &parent) == 2 &&
        parent == getpid()) {
      children.push_back(pid);
    }
  }
  closedir(dir);
  return children;
}

// At a stop: ask every child to stop (SIGTERM), give those still answering `grace` to finish, kill
// the rest, and reap them all, so that none outlives the server as an orphan or a zombie.
void stop_children(std::chrono::milliseconds grace) {
  // From here on the main program reaps: block SIGCHLD, so that the handler cannot take a child
  // from under the waitpid() calls below. Children not yet reaped are still ours: their PIDs
  // cannot have been given to anyone else. (Without /proc the list is empty, and the server waits
  // for its children to end on their own.)
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, nullptr);
  for (pid_t pid : child_processes()) kill(pid, SIGTERM);
  auto give_up = std::chrono::steady_clock::now() + grace;
  while (std::chrono::steady_clock::now() < give_up) {
    pid_t pid = waitpid(-1, nullptr, WNOHANG);
    if (pid < 0) return;  // ECHILD: no children left
    if (pid > 0) g_reaped = g_reaped + 1;
    if (pid == 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  for (pid_t pid : child_processes()) kill(pid, SIGKILL);
  while (true) {
    pid_t pid = waitpid(-1, nullptr, 0);
    if (pid > 0) g_reaped = g_reaped + 1;
    if (pid < 0 && errno != EINTR) return;  // ECHILD: all reaped. EINTR: a second Ctrl-C; go on.
  }
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

// The app answers each request now: it is loaded in main() and called in handle_connection().
// (Part 1's /inspect page went with its handle_request(): the environ app shows what a request
// carried, as the gateway hands it over.)

// ---- connection ------------------------------------------------------------------------------
// Steps 2 to 7 for one connection: read and parse a request, build the environ, call the app,
// build the response from what it gave, and send it. The caller closes the connection.
void handle_connection(int fd, const SocketAddress& server, const SocketAddress& client,
                       const gateway_app& app, const Options& options) {
  // Steps 2 and 3: read the request and parse it, together, since only the parser can tell
  // when the request is complete.
  RequestParser parser;
  std::string raw;  // with --print-requests: the bytes as they came
  ReadResult got = read_request(fd, parser, options.timeouts, options.print_requests ? &raw : nullptr);
  hold_stop_signals(true);  // a request is in: a stop now waits for its answer (a clean stop)
  if (!raw.empty()) log_line("%s sent:\n%s", client.to_string().c_str(), show_bytes(raw).c_str());
  if (got.status == ReadStatus::Gone) {  // nothing to answer, such as a browser's unused preconnection
    log_line("%s %s", client.to_string().c_str(), got.detail.c_str());
    return;
  }
  const Request& request = parser.request();
  Response response = error_response(got.http_status, got.detail);
  if (got.status == ReadStatus::Complete && request.path == "/fds") {
    // The server's own page: its descriptor table, read from /proc while this request is served.
    response = text_response(200, descriptor_table(options.backlog));
  } else if (got.status == ReadStatus::Complete) {
    // Step 4: the environ, every variable taken from the parsed request and the connection.
    Environ environ = build_environ(request, server, client);
    environ["gateway.multiprocess"] = "true";  // each request is served in a process of its own
    // Step 5: call the app with environ and start_response; it writes the body.
    AppResult result = call_app(app, environ);
    if (!result.fault.empty()) log_line("app fault: %s", result.fault.c_str());  // the client gets 500
    // Step 6: the response, from the status and headers given to start_response, and the body.
    response = build_response(result);
  }
  // Step 7: send it.
  response.close_delimited = options.no_content_length;  // the demonstration: no length given
  bool include_body = request.method != "HEAD";          // HEAD: the same headers, no body
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
  // Step 1: load the app, before listening, so that a bad APP is an error at once.
  const gateway_app& app = load_app(options.app, options.app_argument);
  log_line("Loaded app '%s' from %s", app.name,
           options.app.empty() ? "the server itself" : options.app.c_str());
  // Every answer has a Date header, and the C library reads its time-zone file (/etc/localtime)
  // the first time it converts a time: have it read now, once, before listening, and not while a
  // client waits (nor, from Part 5 on, in every child: a child starts from the parent's memory).
  tzset();
  UniqueFd listener = open_listener(options);
  SocketAddress bound;  // asked back from the kernel, which chose the port if we gave 0
  getsockname(listener.get(), bound.get(), &bound.length);
  // The handlers go in before the server says it serves: a stop sent the moment it says so is caught.
  install_reaper(options.reap_with_wait);
  install_stop_handlers(listener.get());
  log_line("%s", descriptor_table(options.backlog).c_str());
  log_line("Serving HTTP on %s port %d (http://%s/) ...", bound.ip().c_str(), bound.port(),
           bound.to_string().c_str());

  // Serve until SIGINT or SIGTERM: the handler sets g_stop and wakes accept().
  int last_accept_error = 0;  // a failing accept() is logged once, not each time it fails again
  while (!g_stop) {
    SocketAddress peer;
    UniqueFd client(accept4(listener.get(), peer.get(), &peer.length, SOCK_CLOEXEC));
    if (!client) {
      int error = errno;
      if (error == EINTR && !g_stop) {
        // A child ended while accept() waited: the handler ran, and accept() gave up. Nothing is
        // wrong (unless --eintr=fatal, LSBAWS's crash); call it again.
        if (options.eintr_fatal) die(std::string("accept: ") + std::strerror(error));
        log_line("accept: %s; restarting it (children reaped so far: %d)", std::strerror(error),
                 static_cast<int>(g_reaped));
        continue;
      }
      if (!g_stop && error != last_accept_error) log_line("accept: %s", std::strerror(error));
      last_accept_error = error;
      // Out of descriptors (Part 5 runs a server out of them): wait for one to be freed instead of
      // failing again at once, in a loop that would take all the CPU.
      if (error == EMFILE || error == ENFILE) std::this_thread::sleep_for(std::chrono::milliseconds(100));
      continue;
    }
    last_accept_error = 0;
    log_socket_pair(client.get(), bound);

    // fork() makes a second process, a copy of this one, and returns in both: 0 in the child, the
    // child's PID in the parent. The child has its own copy of every descriptor, pointing to the
    // same sockets: the client's socket is now referred to twice, and the kernel closes it only
    // when both copies are closed.
    hold_stop_signals(true);  // until the child has its own signal actions (a clean stop)
    pid_t pid = fork();
    if (pid != 0) hold_stop_signals(false);
    if (pid < 0) {  // no child (too many processes, say): answer ourselves, and go on
      log_line("fork: %s", std::strerror(errno));
      send_response(client.get(), error_response(503, "the server cannot start a process now"),
                    options.timeouts);
      drain_before_close(client.get(), options.timeouts);
      client.reset();
      continue;
    }
    if (pid == 0) {
      // The child serves this one connection. It never accepts, so it closes its copy of the
      // listening socket; the parent's copy keeps listening.
      if (!options.child_keeps_listener) listener.reset();
      restore_default_signals();
      hold_stop_signals(false);  // a stop that came meanwhile ends the child now: it owes no answer yet
      log_line("child %d (parent %d) serving %s", getpid(), getppid(), peer.to_string().c_str());
      handle_connection(client.get(), bound, peer, app, options);
      hold_stop_signals(false);  // answered: a stop ends the child from now on
      if (options.delay > 0) std::this_thread::sleep_for(std::chrono::duration<double>(options.delay));
      client.reset();  // the child's copy: if the parent closed its own, the connection ends here
      // End the child here. Going on would take it round the parent's accept() loop; exit() would
      // run clean-up that is the parent's (static destructors, stdio buffers copied by fork()).
      _exit(0);
    }
    // The parent: the connection is the child's now. Close our copy, or the connection outlives
    // the child (the client waits for an end that never comes) and each one costs us a descriptor.
    if (options.parent_keeps_client) {
      log_line("parent %d keeps descriptor %d open (--parent-keeps-client)", getpid(), client.release());
    }
    client.reset();
  }
  stop_children(options.shutdown_grace);
  log_line("Shutting down (children reaped: %d)", static_cast<int>(g_reaped));
  return 0;
}
