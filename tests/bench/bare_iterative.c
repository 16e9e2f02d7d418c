/* tests/bench/bare_iterative.c: the floor for an iterative server. It does the job the course's
 * iterative stages do for GET /hello (accept, read the request head, answer the same bytes, log
 * one line, close) and nothing else: no parser, no timeouts, no gateway. The bench measures the
 * stages against it.   cc -O2 -o bare_iterative bare_iterative.c && ./bare_iterative --port 0
 * With --sleep-ms N every request waits N ms before it is answered, as if for a database. */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;
static void on_stop(int sig) {
  (void)sig;
  stop = 1;
}

/* Read up to the blank line that ends the head, answer Hello, World!, write one log line. */
static void serve(int fd, const struct sockaddr_in *peer, int sleep_ms) {
  char request[8192];
  size_t got = 0;
  do {
    ssize_t n = recv(fd, request + got, sizeof request - 1 - got, 0);
    if (n <= 0) return;
    got += (size_t)n;
    request[got] = '\0';
  } while (strstr(request, "\r\n\r\n") == NULL && got < sizeof request - 1);
  if (sleep_ms > 0) {
    struct timespec wait = {sleep_ms / 1000, (sleep_ms % 1000) * 1000000L};
    /* A signal may cut the sleep short: sleep on for what is left. */
    while (nanosleep(&wait, &wait) == -1 && errno == EINTR) {
    }
  }
  char date[40], answer[512], line[300], ip[INET_ADDRSTRLEN];
  time_t now = time(NULL);
  struct tm utc;
  strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", gmtime_r(&now, &utc));
  int size = snprintf(answer, sizeof answer,
                      "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n"
                      "Content-Length: 13\r\nDate: %s\r\nServer: bare\r\nConnection: close\r\n\r\n"
                      "Hello, World!",
                      date);
  if (send(fd, answer, (size_t)size, MSG_NOSIGNAL) != size) return; /* 200 bytes: one send or none */
  inet_ntop(AF_INET, &peer->sin_addr, ip, sizeof ip);
  int first_line = (int)strcspn(request, "\r\n");
  size = snprintf(line, sizeof line, "%s:%d \"%.*s\" 200 13\n", ip, ntohs(peer->sin_port),
                  first_line < 200 ? first_line : 200, request);
  if (write(STDOUT_FILENO, line, (size_t)size) < 0) return;
}

int main(int argc, char **argv) {
  int port = 8888, sleep_ms = 0, on = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--port") == 0) port = atoi(argv[i + 1]);
    if (strcmp(argv[i], "--sleep-ms") == 0) sleep_ms = atoi(argv[i + 1]);
  }
  struct sockaddr_in address = {.sin_family = AF_INET,
                                .sin_port = htons((unsigned short)port),
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t length = sizeof address;
  tzset(); /* the time zone read once, as the stages read it: not in every request (or child) */
  int listener = socket(AF_INET, SOCK_STREAM, 0);
  setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  if (bind(listener, (struct sockaddr *)&address, length) < 0 || listen(listener, 128) < 0 ||
      getsockname(listener, (struct sockaddr *)&address, &length) < 0) {
    perror("bare_iterative: bind/listen");
    return 1;
  }
  printf("Serving HTTP on 127.0.0.1 port %d (http://127.0.0.1:%d/) ...\n", ntohs(address.sin_port),
         ntohs(address.sin_port));
  fflush(stdout);
  struct sigaction action = {.sa_handler = on_stop}; /* no SA_RESTART: the signal ends accept() */
  sigaction(SIGTERM, &action, NULL);
  sigaction(SIGINT, &action, NULL);
  while (!stop) {
    struct sockaddr_in peer;
    socklen_t peer_length = sizeof peer;
    int client = accept(listener, (struct sockaddr *)&peer, &peer_length);
    if (client < 0) continue;
    serve(client, &peer, sleep_ms);
    close(client);
  }
  return 0;
}
