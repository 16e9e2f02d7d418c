// common/stop.hpp: stopping a server cleanly on Ctrl-C (SIGINT) or SIGTERM.
#pragma once

// From now on SIGINT and SIGTERM ask the server to stop instead of killing it: they set a flag
// and shut down `listen_fd`, so that a blocked accept() returns at once (and any later accept()
// fails at once: no signal can slip in between checking the flag and calling accept).
void install_stop_handlers(int listen_fd);

// True once SIGINT or SIGTERM has arrived.
bool stop_requested();

// Sleep for `seconds`, carrying on after signals, but returning early once a stop is requested.
void pause_for(double seconds);
