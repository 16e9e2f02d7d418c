/* tests/apps/runs_a_program.c: a gateway app that starts a program, as an app may (a converter, a
 * mailer), and answers what that program found open: the output of `ls -l /proc/self/fd`, run
 * through popen(). A server whose sockets are not close-on-exec hands them to every such program.
 *   ./part2/server build/tests/runs_a_program.so */
#define _POSIX_C_SOURCE 200809L /* popen() */
#include <stdio.h>

#include "common/gateway_abi.h"

static int list_inherited_descriptors(const struct gateway_call *call) {
  FILE *program = popen("ls -l /proc/self/fd", "r");
  if (program == NULL) return 1;
  static const char type[] = "text/plain; charset=utf-8";
  struct gateway_pair header = {{"Content-Type", 12}, {type, sizeof type - 1}};
  if (call->start_response(call->server, "200 OK", &header, 1) != 0) return 1;
  char line[512];
  size_t n;
  while ((n = fread(line, 1, sizeof line, program)) > 0) call->write(call->server, line, n);
  return pclose(program) == 0 ? 0 : 1;
}

const struct gateway_app app = {GATEWAY_ABI_VERSION, "runs_a_program", list_inherited_descriptors, NULL};
