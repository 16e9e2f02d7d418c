/* common/gateway_abi.h (Part 2): the boundary between a server and an application, in plain C.
 *
 * This is the course's analog of Python's WSGI (PEP 3333). A WSGI application is a callable
 * app(environ, start_response) that returns the body; here an application is a shared object
 * (.so) that exports a `struct gateway_app`, whose `call` receives the environ and the
 * start_response callable. Plain C, so that an app can be written in C, C++ or anything else
 * that can export a C symbol, and built apart from the server.
 *
 * The server calls app->init(argument) once, if the app has one, then for each request it fills
 * a `struct gateway_call` and invokes app->call(call). The app
 *   1. reads the environ (CGI and gateway variables, sorted by name),
 *   2. calls start_response(server, "200 OK", headers, count) exactly once,
 *   3. calls write(server, bytes, size) for each piece of the body (none for an empty body),
 *   4. returns 0, or non-zero if it failed (the client then gets 500).
 * Everything the server passes is valid only during the call. Nothing may unwind across this
 * boundary: a C++ app catches its exceptions and returns non-zero (see gateway_app.hpp). */
#ifndef GATEWAY_ABI_H
#define GATEWAY_ABI_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped whenever these structures change; a server refuses an app built for another version. */
#define GATEWAY_ABI_VERSION 1

/* Bytes with their length: values may hold any byte, NUL included. What the server passes also
 * has a NUL after the last byte, for convenience; what the app passes need not. */
struct gateway_bytes {
  const char *data;
  size_t size;
};

/* An environ variable, or a response header. */
struct gateway_pair {
  struct gateway_bytes name;
  struct gateway_bytes value;
};

struct gateway_call {
  const struct gateway_pair *environ; /* sorted by name */
  size_t environ_count;

  void *server; /* opaque: pass it back as the first argument of the functions below */
  /* The status ("404 Not Found") and headers of the response. Returns 0, or -1 if the call broke
   * the contract (twice, a malformed status, a header with CR or LF, ...): the server then
   * answers 500 whatever the app does next. */
  int (*start_response)(void *server, const char *status, const struct gateway_pair *headers, size_t count);
  /* Append bytes to the response body: what a WSGI app returns as its iterable. */
  int (*write)(void *server, const char *data, size_t size);
  /* The analog of wsgi.errors: one line for the server's log. */
  void (*log_error)(void *server, const char *message);
};

struct gateway_app {
  unsigned abi_version; /* GATEWAY_ABI_VERSION as the app was built */
  const char *name;     /* for the log */
  int (*call)(const struct gateway_call *call);
  /* Optional (NULL if the app needs none): called once when the server loads the app, before it
   * listens, with the ARGUMENT that followed APP on the command line, or NULL. Returns 0, or
   * non-zero with a message in `error` (at most `error_size` bytes, NUL included): the server
   * prints it and exits with status 2. */
  int (*init)(const char *argument, char *error, size_t error_size);
};

#ifdef __cplusplus
}
#endif

#endif /* GATEWAY_ABI_H */
