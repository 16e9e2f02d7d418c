// common/stop.hpp: stopping a server cleanly on Ctrl-C (SIGINT) or SIGTERM.
#pragma once

// From now on SIGINT and SIGTERM ask the server to stop instead of killing it: they set a flag
// and shut down `listen_fd`, so that a blocked accept() returns at once (and any later accept()
// fails at once: no signal can slip in between checking the flag and calling accept).
// SIGPIPE is ignored from now on too: the log may be a pipe whose reader has gone
// (`./server | head`), and writing to it must fail with EPIPE, not kill the server. (Sockets are
// written with MSG_NOSIGNAL anyway.)
void install_stop_handlers(int listen_fd);

// True once SIGINT or SIGTERM has arrived.
bool stop_requested();

// Sleep for `seconds`, carrying on after signals, but returning early once a stop is requested.
void pause_for(double seconds);
