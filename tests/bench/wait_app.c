/* tests/bench/wait_app.c: a gateway app whose every request waits before it is answered, as a
 * request waits for a database: it sleeps 20 ms (or the milliseconds given as ARGUMENT), then
 * answers 200 "Hello, World!" whatever the path. The bench builds it and loads it into parts 2-6:
 *   cc -O2 -shared -fPIC -I. -o tests/bench/out/wait_app.so tests/bench/wait_app.c
 *   ./part6/server tests/bench/out/wait_app.so 20 */
#define _POSIX_C_SOURCE 200809L /* nanosleep() */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "common/gateway_abi.h"

static long wait_ms = 20;

static int wait_init(const char *argument, char *error, size_t error_size) {
  if (argument == NULL) return 0;
  char *end;
  wait_ms = strtol(argument, &end, 10);
  if (*argument != '\0' && *end == '\0' && wait_ms >= 0 && wait_ms <= 60000) return 0;
  snprintf(error, error_size, "wait_app: ARGUMENT is milliseconds (0 to 60000), not '%s'", argument);
  return 1;
}

static int wait_then_hello(const struct gateway_call *call) {
  struct timespec left = {wait_ms / 1000, (wait_ms % 1000) * 1000000L};
  /* A signal may cut the sleep short: sleep on for what is left. */
  while (nanosleep(&left, &left) == -1 && errno == EINTR) {
  }
  static const char type[] = "text/plain; charset=utf-8", body[] = "Hello, World!";
  struct gateway_pair header = {{"Content-Type", 12}, {type, sizeof type - 1}};
  if (call->start_response(call->server, "200 OK", &header, 1) != 0) return -1;
  return call->write(call->server, body, sizeof body - 1);
}

const struct gateway_app app = {
    .abi_version = GATEWAY_ABI_VERSION, .name = "wait", .call = wait_then_hello, .init = wait_init};
