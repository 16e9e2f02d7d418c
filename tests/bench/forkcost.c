/* tests/bench/forkcost.c: what one fork() costs a server that forks per connection: the time of
 * fork(), the child's _exit(0) and the parent's waitpid(), averaged over many rounds, for a
 * process that has first touched MIB mebibytes of memory (fork copies the page tables that map
 * it; the pages themselves are shared, copy-on-write).
 *   cc -O2 -o forkcost forkcost.c && ./forkcost 2000 0 4 64     (rounds, then sizes in MiB) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

int main(int argc, char **argv) {
  int rounds = argc > 1 ? atoi(argv[1]) : 2000;
  for (int i = 2; i < argc || i == 2; ++i) {
    size_t mib = i < argc ? (size_t)atoi(argv[i]) : 0;
    char *memory = mib ? malloc(mib << 20) : NULL;
    if (memory) memset(memory, 1, mib << 20); /* touch every page, so that it is really mapped */
    double start = now_us();
    for (int r = 0; r < rounds; ++r) {
      pid_t child = fork();
      if (child < 0) {
        perror("fork");
        return 1;
      }
      if (child == 0) _exit(0);
      waitpid(child, NULL, 0);
    }
    printf("fork+exit+wait  %4zu MiB touched  %8.1f us\n", mib, (now_us() - start) / rounds);
    free(memory);
  }
  return 0;
}
