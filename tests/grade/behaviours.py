"""The behaviours a stage is graded on: what a learner's server must do, in words, with the section
of NOTES.md to reread when it does not.

Each black-box test that runs against a stage names the one behaviour it checks,
`@pytest.mark.behaviour("hello")`, or says why it grades nothing, `@pytest.mark.not_graded("...")`
(conftest.py refuses a test that does neither). `make grade-N` runs the tests of stage N against
the learner's server and reports, per behaviour, whether every one of its tests passed. A stage's
behaviours are those of the tests that run against it, so the table does not list stages.

Optional behaviours are the course's demonstrations: flags that show a bug on purpose or a
phenomenon (--parent-keeps-client, --reap=wait, --print-requests, ...). They are reported, and
never needed to pass.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Behaviour:
    title: str              # what the server does, as the learner reads it
    reread: tuple           # ((from part, chapter of NOTES.md, section), ...): the last one the stage has reached
    optional: bool = False  # a demonstration: reported, never needed to pass

    def section_for(self, stage):
        """The (chapter, section) of NOTES.md that explains this behaviour as stage `stage` has it."""
        chosen = [(chapter, section) for part, chapter, section in self.reread if part <= stage]
        return chosen[-1] if chosen else self.reread[0][1:]


DEFENCES = "Appendix B"  # what the servers defend against

BEHAVIOURS = {
    # ---- Part 1: an HTTP request parsed and answered ---------------------------------------------
    "parser_rules": Behaviour(
        "The parser follows the rules of RFC 9112, one doctest case each (tests/unit/test_http_request.cpp)",
        ((1, "Part 1", "Reading a request: the parser in `common/`"),)),
    "hello": Behaviour(
        "GET /hello is answered 200 with Hello, World!, whether the request comes whole or in pieces",
        ((1, "Part 1", "The request and the response on the wire"),)),
    "response_headers": Behaviour(
        "The answer carries Content-Type, Content-Length, Connection: close, Server and a Date of now",
        ((1, "Part 1", "The request and the response on the wire"),)),
    "routes_and_methods": Behaviour(
        "An unknown path is 404, a method other than GET or HEAD is 405 with Allow, HEAD has GET's "
        "headers and no body, and HTTP/1.0 is answered",
        ((1, "Part 1", "The server, top to bottom"),)),
    "malformed_requests": Behaviour(
        "A malformed request gets the status the RFCs call for (400, 413, 431, 501, 505), and the "
        "server goes on",
        ((1, "Part 1", "Reading a request: the parser in `common/`"),)),
    "inspect": Behaviour(
        "/inspect shows the request as parsed: method, target, version, headers, host, port, path, query",
        ((1, "Part 1", "Reading a request: the parser in `common/`"),)),
    "access_log": Behaviour(
        "Each request is logged on one line: the client, the request line, the status, the bytes sent",
        ((1, "Part 1", "The server, top to bottom"),)),
    "command_line": Behaviour(
        "--help prints the usage; a bad option prints it too, with the problem, and exits with status 2",
        ((1, "Part 1", "The server, top to bottom"),)),
    "start_and_stop": Behaviour(
        "A port in use is a one-line error; a restarted server binds its port at once; SIGTERM stops "
        "it, leaving nothing behind",
        ((1, "Part 1", "The server, top to bottom"),
         (3, "Part 3", "The server's sequence, one call at a time"),
         (6, "Part 6", "A clean stop"))),
    "print_requests": Behaviour(
        "--print-requests prints each request as it came, its control bytes escaped",
        ((1, "Part 1", "The server, top to bottom"),), optional=True),
    "ascii_classes": Behaviour(
        "Request bytes are classified in ASCII, never by the C library's locale (isalpha() and the rest)",
        ((1, "Part 1", "Reading a request: the parser in `common/`"),), optional=True),
    "links_what_is_taught": Behaviour(
        "It links what its part teaches (the gateway, the /proc reader, fork, signals) and nothing of a "
        "later part",
        tuple((n, f"Part {n}", None) for n in range(1, 7)), optional=True),

    # ---- What the servers defend against: every stage ----------------------------------------------
    "hostile_corpus": Behaviour(
        "Hostile requests (tests/corpus/*.cases) each get the answer the RFCs call for, exactly once",
        ((1, DEFENCES, "Refusing ambiguity: request smuggling"),)),
    "timeouts": Behaviour(
        "A client too slow to send its request, or to read its answer, is cut off, and the others are "
        "still served",
        ((1, DEFENCES, "Timeouts: one client cannot take all the time"),)),
    "vanishing_clients": Behaviour(
        "Clients that vanish or reset mid-request cost nothing: no crash (SIGPIPE), no descriptor kept",
        ((1, DEFENCES, "Clients that vanish"),)),

    # ---- Part 2: the gateway interface -------------------------------------------------------------
    "environ": Behaviour(
        "The app's environ holds what the server parsed: the CGI variables, HTTP_* and gateway.*",
        ((2, "Part 2", "What environ holds"),)),
    "apps": Behaviour(
        "The app named on the command line is loaded and answers every well-formed request; a "
        "malformed one is answered by the server",
        ((2, "Part 2", "The seven steps, in the code"),)),
    "app_contract": Behaviour(
        "An app that breaks the contract is a 500 and a log line; one that cannot be loaded is a "
        "one-line error and exit status 2",
        ((2, "Part 2", "The contract, enforced"),)),
    "no_inherited_sockets": Behaviour(
        "A program an app starts inherits none of the server's sockets (close-on-exec)",
        ((2, "Part 3", "The server's sequence, one call at a time"),)),

    # ---- Part 3: the socket calls -----------------------------------------------------------------
    "socket_calls": Behaviour(
        "The socket calls are logged as they are made: socket(), setsockopt(), bind(), listen() with "
        "--backlog",
        ((3, "Part 3", "The server's sequence, one call at a time"),)),
    "socket_pair": Behaviour(
        "Each connection's socket pair is logged, the same four numbers the client sees",
        ((3, "Part 3", "A socket, and a pair of them"),)),
    "listen_queue": Behaviour(
        "A client that arrives while the server is busy waits in the listen queue, then is served",
        ((3, "Part 3", "An iterative server, and the queue that saves it"),)),
    "load_client": Behaviour(
        "Every connection of the load client (part3/client) is answered and logged",
        ((3, "Part 3", "The load client"),)),
    "iterative_delay": Behaviour(
        "--delay: an iterative server serves one client after another",
        ((3, "Part 3", "An iterative server, and the queue that saves it"),), optional=True),
    "asio_twin": Behaviour(
        "It answers as its Boost.Asio twin does, answer for answer and log line for log line",
        ((3, "Part 3", "The same server, written with Boost.Asio"),), optional=True),
    "browser": Behaviour(
        "A browser's unused connections do not freeze the iterative server",
        ((3, "Part 3", "Browsers open connections they never use"),), optional=True),

    # ---- Part 4: file descriptors --------------------------------------------------------------------
    "fds_page": Behaviour(
        "/fds lists the descriptor table exactly as /proc shows it, with the limit and the backlog",
        ((4, "Part 4", "The table, three ways"),)),
    "descriptor_log": Behaviour(
        "The log shows the descriptor table at start, and each new descriptor accept() returns",
        ((4, "Part 4", "The table, three ways"),)),
    "no_descriptor_leak": Behaviour(
        "No descriptor is leaked: after 200 requests the table is the size it was",
        ((4, "Part 4", "File descriptors"),)),
    "without_proc": Behaviour(
        "Without /proc, /fds says so and the server goes on",
        ((4, "Part 4", "The descriptor limit"),)),

    # ---- Part 5: a process per connection ------------------------------------------------------------
    "concurrent": Behaviour(
        "Clients are served at the same time: eight at once with --delay all end after about one delay",
        ((5, "Part 5", "One process per connection"),)),
    "child_per_connection": Behaviour(
        "Each connection is served by a new child of the server, which logs its PID and its parent's",
        ((5, "Part 5", "One process per connection"),)),
    "who_closes_what": Behaviour(
        "Who closes what: a child holds only its client's socket, the parent only the listening one",
        ((5, "Part 5", "Who must close which descriptor, and why"),)),
    "parent_keeps_client": Behaviour(
        "--parent-keeps-client (and --no-content-length): clients never see the end, descriptors run "
        "out, and the server backs off until they are back",
        ((5, "Part 5", "What goes wrong otherwise: the demonstrations"),), optional=True),
    "child_keeps_listener": Behaviour(
        "--child-keeps-listener: the port stays open after the parent is gone",
        ((5, "Part 5", "What goes wrong otherwise: the demonstrations"),), optional=True),
    "zombies_pile_up": Behaviour(
        "Nobody waits for the children: each stays a zombie, until fork() fails and clients get 503",
        ((5, "Part 5", "What goes wrong otherwise: the demonstrations"),), optional=True),

    # ---- Part 6: zombies, SIGCHLD and EINTR ------------------------------------------------------------
    "no_zombies": Behaviour(
        "No zombie and no descriptor is left, after bursts of clients or under load",
        ((6, "Part 6", "The fix: wait for each child when it ends"),)),
    "accept_restarted": Behaviour(
        "accept(), interrupted by SIGCHLD, is called again (and the restart logged)",
        ((6, "Part 6", "EINTR: accept(), interrupted"),)),
    "clean_stop": Behaviour(
        "SIGTERM stops it cleanly: an answer owed is finished, idle children end at once, stragglers "
        "are killed after --shutdown-grace, and all are reaped",
        ((6, "Part 6", "A clean stop"),)),
    "zombie_table": Behaviour(
        "The zombie table: no reaping leaves one zombie per client, --reap=wait loses some to "
        "coalesced signals, the waitpid loop none",
        ((5, "Part 5", "What goes wrong otherwise: the demonstrations"),
         (6, "Part 6", "Signals are not queued")), optional=True),
    "eintr_fatal": Behaviour(
        "--eintr=fatal: a server that does not restart accept() dies when a child ends",
        ((6, "Part 6", "EINTR: accept(), interrupted"),), optional=True),
}

# The behaviour graded by the parser's doctest cases (Part 1) rather than by black-box tests.
UNIT_TESTED = {"parser_rules": "tests/unit/test_http_request.cpp"}
