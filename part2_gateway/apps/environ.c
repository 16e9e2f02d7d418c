/* part2_gateway/apps/environ.c: answers with the environ it was given, one NAME=value per line,
 * sorted by name: what the server understood of your request.
 *
 *   ./part2/server part2/environ.so
 *   curl 'localhost:8888/any/path?x=1' -H 'X-Demo: yes'
 *
 * Written in plain C against common/gateway_abi.h, to show that the boundary between server and
 * app is C: nothing of the server's C++ leaks into it. */
#include <stdio.h>
#include <string.h>

#include "common/gateway_abi.h"

/* Append bytes to the body; 0, or -1 if the server refused. */
static int put(const struct gateway_call *call, const char *data, size_t size) {
  return call->write(call->server, data, size);
}

/* A value with its unprintable bytes (line ends in a request body, say) escaped as \xHH, so that
 * every variable stays on one line. */
static int put_escaped(const struct gateway_call *call, struct gateway_bytes value) {
  size_t start = 0;
  for (size_t i = 0; i < value.size; ++i) {
    unsigned char c = (unsigned char)value.data[i];
    if (c >= 0x20 && c < 0x7f && c != '\\') continue;
    char escape[8];
    snprintf(escape, sizeof escape, "\\x%02x", c);
    if (put(call, value.data + start, i - start) != 0 || put(call, escape, strlen(escape)) != 0) return -1;
    start = i + 1;
  }
  return put(call, value.data + start, value.size - start);
}

static int environ_app(const struct gateway_call *call) {
  static const char type[] = "text/plain; charset=utf-8";
  struct gateway_pair header = {{"Content-Type", 12}, {type, sizeof type - 1}};
  if (call->start_response(call->server, "200 OK", &header, 1) != 0) return -1;
  for (size_t i = 0; i < call->environ_count; ++i) {
    const struct gateway_pair *var = &call->environ[i];
    if (put(call, var->name.data, var->name.size) != 0 || put(call, "=", 1) != 0 ||
        put_escaped(call, var->value) != 0 || put(call, "\n", 1) != 0) {
      return -1;
    }
  }
  return 0;
}

const struct gateway_app app = {.abi_version = GATEWAY_ABI_VERSION, .name = "environ", .call = environ_app};
