"""The black-box harness: start a stage's real binary, talk to it over real sockets, stop it.

Nothing here builds anything: `make test` builds first. Every server is started with --port 0,
its port is read from the "Serving HTTP on HOST port PORT" line, and it is stopped by its pid at
teardown, where the test also fails if the server did not exit cleanly or left children behind.

Tests name the first stage they apply to, as one suite serves every chapter:

    @pytest.mark.stages(first=3)
    def test_something(server): ...      # runs against part3, part3 asio, part4, part5, part6

or, where what they check is the same in every stage, a representative few:
`@pytest.mark.stages(names=("part2", "part6"))` (an iterative stage and a forking one).

Each of those tests also names the behaviour it checks, by which `make grade-N` grades a learner's
own stage N (tests/grade/behaviours.py): `@pytest.mark.behaviour("hello")`, or
`@pytest.mark.not_graded("why")` for one that checks no server of the learner's.
"""

import ast
import dataclasses
import json
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from dataclasses import dataclass, field

import pytest

from processes import become_subreaper, proc_stat, terminate

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "grade"))
from behaviours import BEHAVIOURS  # noqa: E402  (tests/grade is not a package)


@dataclass(frozen=True)
class Stage:
    name: str      # the test id: part1, part3-asio, ...
    number: int    # 1..6
    binary: str    # relative to the project's root
    forks: bool = False             # serves each connection in a child process
    leaves_zombies: bool = False    # does not reap its children (part5, by design)
    handles_stop: bool = False      # catches SIGTERM and exits 0 (part6); the others die of it


ALL_STAGES = [
    Stage("part1", 1, "part1/server"),
    Stage("part2", 2, "part2/server"),
    Stage("part3", 3, "part3/server"),
    Stage("part3-asio", 3, "part3/asio_server"),
    Stage("part4", 4, "part4/server"),
    Stage("part5", 5, "part5/server", forks=True, leaves_zombies=True),
    Stage("part6", 6, "part6/server", forks=True, handles_stop=True),
]


def stages_from(first, last=6):
    return [s for s in ALL_STAGES if first <= s.number <= last]


def pytest_addoption(parser):
    parser.addoption("--stage", type=int, choices=range(1, 7), metavar="N",
                     help="run only the tests of stage N (make test-partN)")
    parser.addoption("--server-binary", metavar="PATH",
                     help="with --stage N: grade PATH as stage N, running only the graded tests that run "
                          "against it (make grade-N)")
    parser.addoption("--grade-json", metavar="FILE",
                     help="with --server-binary: write each test's behaviour and outcome to FILE")
    parser.addoption("--grade-only", metavar="NAME,...",
                     help="with --server-binary: only the tests of these behaviours (tests/grade/behaviours.py)")


# The stage being graded (make grade-N): stage N's Stage with the learner's binary, else None.
GRADED = None


def stages_of(item):
    """The stages a collected test runs against: its `stage` parameter, or its stages marker."""
    callspec = getattr(item, "callspec", None)
    if callspec is not None and "stage" in callspec.params:
        return [callspec.params["stage"]]
    marker = item.get_closest_marker("stages")
    return [] if marker is None else marked_stages(marker)


def marked_stages(marker):
    """The stages a `stages` marker names: @pytest.mark.stages(first=2, last=4, names=[...])."""
    first = marker.kwargs.get("first", marker.args[0] if marker.args else 1)
    names = marker.kwargs.get("names")
    return [s for s in stages_from(first, marker.kwargs.get("last", 6)) if names is None or s.name in names]


def behaviour_of(item):
    marker = item.get_closest_marker("behaviour")
    return marker.args[0] if marker else None


def check_grading_marks(items):
    """Every test that runs against a stage names its behaviour, or says why it grades nothing."""
    problems = []
    for item in items:
        if not stages_of(item) or any(p.startswith(item.nodeid.split("[")[0] + ":") for p in problems):
            continue
        graded, not_graded = item.get_closest_marker("behaviour"), item.get_closest_marker("not_graded")
        if (graded is None) == (not_graded is None):
            problems.append(f"{item.nodeid.split('[')[0]}: mark it with exactly one of behaviour(NAME) and "
                            f"not_graded(WHY)")
        elif graded is not None and behaviour_of(item) not in BEHAVIOURS:
            problems.append(f"{item.nodeid.split('[')[0]}: no behaviour {behaviour_of(item)!r} in "
                            f"tests/grade/behaviours.py")
    if problems:
        raise pytest.UsageError("\n".join(problems))


def pytest_collection_modifyitems(config, items):
    check_grading_marks(items)
    wanted = config.getoption("--stage")
    if wanted is None:
        return
    if GRADED is not None:  # the learner's stage only: not another program of the same stage (asio)
        only = config.getoption("--grade-only")
        keep = [item for item in items if behaviour_of(item) and GRADED in stages_of(item)
                and (not only or behaviour_of(item) in only.split(","))]
    else:
        keep = [item for item in items if any(s.number == wanted for s in stages_of(item))]
    config.hook.pytest_deselected(items=[item for item in items if item not in keep])
    items[:] = keep


def grade_stage(config):
    """With --server-binary: stage N becomes the learner's binary, for every test that looks it up."""
    global GRADED
    path, number = config.getoption("--server-binary"), config.getoption("--stage")
    if path is None:
        if config.getoption("--grade-json"):
            raise pytest.UsageError("--grade-json needs --server-binary: the server it grades")
        return
    if number is None:
        raise pytest.UsageError("--server-binary needs --stage N: the stage it is graded as")
    index = next(i for i, s in enumerate(ALL_STAGES) if s.name == f"part{number}")
    GRADED = ALL_STAGES[index] = dataclasses.replace(ALL_STAGES[index], binary=os.path.abspath(path))


def pytest_configure(config):
    config.addinivalue_line("markers", "stages(first, last=6, names=None): the stages a test applies to "
                                       "(names: only those of these names)")
    config.addinivalue_line("markers", "behaviour(name): the behaviour of tests/grade/behaviours.py it checks")
    config.addinivalue_line("markers", "not_graded(why): a test of a stage that grades no learner's server")
    grade_stage(config)
    # A child our servers leave behind when they exit comes to us, so that teardown sees (and reaps) it.
    become_subreaper()


# Rows of the zombie table, printed when the suite ends. test_zombies.py records them as the
# "zombie_row" property of its report, which reaches this process whether or not the tests ran in
# workers of their own (pytest-xdist).
ZOMBIE_TABLE = []


def pytest_runtest_logreport(report):
    if report.when == "call":
        ZOMBIE_TABLE.extend(value for name, value in report.user_properties if name == "zombie_row")
    for name, value in report.user_properties:
        if name == "graded":
            record_graded(report.nodeid, value)


def pytest_terminal_summary(terminalreporter):
    if not ZOMBIE_TABLE:
        return
    write = terminalreporter.write_line
    write("")
    write("The zombie table: the same bursts of 128 clients at once (part3/client --max-clients 128),")
    write("zombie children counted from /proc/*/stat after each burst settled")
    write("")
    write(f"{'server':<28} {'zombies after each burst':<26} {'descriptors before -> after':<28}")
    for name, zombies, before, after in ZOMBIE_TABLE:
        write(f"{name:<28} {', '.join(map(str, zombies)):<26} {before} -> {after}")
    write("")


# ---- grading a learner's server (make grade-N) -----------------------------------------------------
# With --server-binary, each phase of a test (setup, call, teardown) notes its behaviour and outcome,
# and for a failure what went wrong and what went over the wire, as the "graded" property of its
# report; the process that writes --grade-json gathers them, one result per test.

GRADE_RESULTS = {}  # nodeid -> {"test", "behaviour", "outcome", and for a failure or skip: "message", ...}


def pytest_runtest_setup(item):
    EXCHANGES.clear()


def failure_message(excinfo):
    """What a failed test says, without a traceback, and its kind: an assertion, a pytest.fail() or
    pytest.skip() (their own text), or an error (an exception nobody expected)."""
    if isinstance(excinfo.value, AssertionError):
        return "assertion", str(excinfo.value)
    if isinstance(excinfo.value, (pytest.fail.Exception, pytest.skip.Exception)):
        return "failed", str(excinfo.value)
    return "error", f"{excinfo.typename}: {excinfo.value}"


def checked(statement):
    """What a statement of a test checks, on one line: an assert without its message, another
    statement (a call that failed inside) without its comments."""
    source = textwrap.dedent(statement)
    try:
        node = ast.parse(source).body[0]
    except (SyntaxError, IndexError):
        return " ".join(source.split())
    if isinstance(node, ast.Assert):
        source = "assert " + ast.get_source_segment(source, node.test)
    else:
        source = ast.get_source_segment(source, node)
    return " ".join(source.split())


def failure_place(item, excinfo):
    """Where in the test's own file it failed: "tests/test_x.py:27", and the statement there."""
    entries = [entry for entry in excinfo.traceback if str(entry.path) == str(item.path)]
    if not entries:
        return f"{os.path.relpath(str(item.path), ROOT)}:{item.location[1] + 1}", ""
    return f"{os.path.relpath(str(item.path), ROOT)}:{entries[-1].lineno + 1}", checked(str(entries[-1].statement))


def exchange_to_report():
    """The connection a failure is best explained by: the one marked, else the last that sent."""
    chosen = [e for e in EXCHANGES if e.shown] or [e for e in EXCHANGES if e.sent] or EXCHANGES
    if not chosen:
        return None
    e = chosen[-1]
    return {"sent": e.sent.decode("latin-1"), "received": e.received.decode("latin-1"), "ended": e.ended}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if GRADED is None or behaviour_of(item) is None:
        return
    entry = {"behaviour": behaviour_of(item), "when": report.when, "outcome": report.outcome,
             "order": item.session.items.index(item)}
    if call.excinfo is not None and (report.failed or report.skipped):
        entry["kind"], entry["message"] = failure_message(call.excinfo)
        entry["where"], entry["statement"] = failure_place(item, call.excinfo)
        if report.failed and report.when == "call":
            entry["exchange"] = exchange_to_report()
            ended = [process.returncode for process in _RUNNING if process.poll() is not None]
            if ended:  # a crash explains whatever the test saw after it
                entry["server_ended"] = (f"died of {signal.Signals(-ended[0]).name}" if ended[0] < 0
                                         else f"exited with status {ended[0]}")
    report.user_properties.append(("graded", entry))


def record_graded(nodeid, entry):
    """Fold a phase's entry into its test's result: a failure in any phase fails the test."""
    result = GRADE_RESULTS.setdefault(nodeid, {"test": nodeid, "behaviour": entry["behaviour"], "outcome": "passed",
                                              "order": entry["order"]})
    if result["outcome"] == "failed" or entry["outcome"] == "passed":
        return
    result.update(entry)
    del result["when"]
    result["phase"] = entry["when"]


def pytest_sessionfinish(session):
    path = session.config.getoption("--grade-json")
    if path is None or hasattr(session.config, "workerinput"):  # the workers report to the controller
        return
    with open(path, "w") as f:
        json.dump({"stage": GRADED.number, "binary": GRADED.binary, "tests": list(GRADE_RESULTS.values())}, f,
                  indent=1)


def pytest_generate_tests(metafunc):
    if "stage" in metafunc.fixturenames:
        marker = metafunc.definition.get_closest_marker("stages")
        chosen = marked_stages(marker) if marker else stages_from(1, 6)
        metafunc.parametrize("stage", chosen, ids=[s.name for s in chosen])


# ---- processes -----------------------------------------------------------------------------------

def children_of(pid):
    """{child pid: state letter} for every process whose parent is `pid`."""
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = proc_stat(int(entry))
            if stat and stat[1] == pid:
                found[int(entry)] = stat[0]
    return found


def zombie_children(pid):
    return sorted(p for p, state in children_of(pid).items() if state == "Z")


def cpu_seconds(pid):
    """User plus system CPU time the process has used so far (utime + stime in /proc/PID/stat)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_until(condition, timeout=10.0, interval=0.02):
    """Poll `condition` until it returns something true, or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


def as_example(pattern):
    """A regular expression of a log line as a person reads it: a number as N, groups, anchors and
    repetitions left out, escaped characters as themselves. "child (\\d+) \\(parent" is "child N (parent"."""
    classes = {"d": "N", "s": " ", "S": "...", "n": ""}
    out, i = [], 0
    while i < len(pattern):
        c, after = pattern[i], pattern[i + 1:i + 2]
        if c == "\\":
            out.append(classes.get(after, after))
            i += 1
        elif c == "{":  # a repetition count, {3}
            i = pattern.index("}", i)
        elif c not in "()^$+*?":
            out.append("..." if c == "." else c)
        i += 1
    return "".join(out)


def wait_until_reaped(pid, timeout=10.0, settle=3.0):
    """Wait until process `pid` has no child left, not even a zombie. A server that reaps its
    children does so within milliseconds of their end: a zombie still there `settle` seconds after
    it was first seen will stay one, and the wait fails then, saying so, not at the timeout."""
    deadline = time.monotonic() + timeout
    first_seen = {}
    while children := children_of(pid):
        now = time.monotonic()
        zombies = [child for child, state in children.items() if state == "Z"]
        if any(now - first_seen.setdefault(child, now) > settle for child in zombies):
            raise AssertionError(f"{len(zombies)} zombie child(ren) of the server, ended and not waited for "
                                 f"{settle:g} s later: {some(zombies)}")
        if now > deadline:
            raise AssertionError(f"{len(children)} child process(es) of the server still there after {timeout:g} s: "
                                 f"{some(children)}, {len(zombies)} of them zombies")
        time.sleep(0.05)  # each look reads all of /proc, which a server's zombies fill


def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


# ---- a running server -----------------------------------------------------------------------------

@dataclass
class Server:
    stage: Stage
    args: tuple
    process: subprocess.Popen = None
    port: int = 0
    lines: list = field(default_factory=list)
    fd_baseline: int = 0  # descriptors open once it listened
    _reader: threading.Thread = None

    @property
    def pid(self):
        return self.process.pid

    def log(self):
        """Everything the server printed so far, one string."""
        return "\n".join(self.lines)

    def wait_for_log(self, pattern, timeout=5.0, count=1):
        """Wait until `count` lines match the regular expression; return the matches."""
        deadline = time.monotonic() + timeout
        while True:
            found = [m for m in (re.search(pattern, line) for line in list(self.lines)) if m]
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                wanted = "no log line" if count == 1 else f"{len(found)} log lines, not {count},"
                raise AssertionError(f"{wanted} like  {as_example(pattern)}  within {timeout:g} s; the log "
                                     f"was:\n{self.log()}")
            time.sleep(0.02)

    def _read_output(self):
        for raw in self.process.stdout:
            self.lines.append(raw.decode("utf-8", "replace").rstrip("\n"))


def start_server(stage, *args, preexec_fn=None, expect_listen=True, wrapper=(), env=None):
    """Start `stage`'s binary with --port 0 and wait for its Serving line. `wrapper` is a command
    that runs the server in the end by exec (so that the pid is the server's); `env` adds to the
    environment."""
    binary = os.path.join(ROOT, stage.binary)
    if not os.access(binary, os.X_OK):
        pytest.fail(f"{stage.binary} is not built: run `make test` (or `make all`) first")
    command = [binary, "--port", "0", *args]
    process = subprocess.Popen([*wrapper, *command], cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, preexec_fn=preexec_fn,
                               env={**os.environ, **(env or {})})
    server = Server(stage, args, process)
    server._reader = threading.Thread(target=server._read_output, daemon=True)
    server._reader.start()
    if not expect_listen:
        return server
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for line in list(server.lines):
            m = re.search(r"Serving HTTP on (\S+) port (\d+) ", line)
            if m:
                server.port = int(m.group(2))
                return server
        if process.poll() is not None:
            break
        time.sleep(0.01)
    status = process.poll()
    process.kill()
    process.wait()
    how = "printed no Serving line within 10 s" if status is None else f"exited with status {status}"
    inside = binary.startswith(ROOT + os.sep)
    shown = " ".join([os.path.relpath(binary, ROOT) if inside else binary, *command[1:]])
    server._reader.join(timeout=5)
    pytest.fail(f"`{shown}` did not start listening: it {how}, printing:\n{server.log()}")


def stop_server(server, graded_elsewhere=False):
    """Stop the server by its pid with SIGTERM, and return a list of what went wrong. Stages 1 to 5
    install no handler, so SIGTERM's default action ends them (status -15); part6 exits with 0.
    `graded_elsewhere`: a learner's server at the end of a test (make grade-N), whose way of stopping
    and whose children are graded by the tests of those (start_and_stop, clean_stop, no_zombies):
    any exit by SIGTERM will do, and children left behind are reaped without a word."""
    process = server.process
    already = process.poll()
    problems = terminate(process)
    clean = (0, -signal.SIGTERM) if graded_elsewhere else (0,) if server.stage.handles_stop else (-signal.SIGTERM,)
    if already is not None:
        problems.append(f"had already exited with status {already}")
    elif process.returncode not in (*clean, -signal.SIGKILL) and not problems:
        problems.append(f"exited with status {process.returncode} after SIGTERM")
    orphans = reap_orphans(server.stage)  # first: a child left running holds the log's pipe open
    server._reader.join(timeout=5)
    return problems + ([] if graded_elsewhere else orphans)


def stop_started_server(server):
    """Stop a server a test started itself, where how it stops is not what the test checks: as at
    the end of the `servers` fixture, a learner's server is graded on that by other tests."""
    return stop_server(server, graded_elsewhere=server.stage == GRADED)


def some(pids, shown=5):
    """A list of pids to print: the first few."""
    pids = sorted(pids)
    return "[" + ", ".join(map(str, pids[:shown])) + (", ...]" if len(pids) > shown else "]")


def reap_adopted(wait_for_live):
    """Reap the processes re-parented to us (pytest is a subreaper, see pytest_configure), other
    than the servers still running. Live ones get `wait_for_live` seconds to end, then SIGKILL.
    Returns ({pid: state} of what was found, [pids still alive when the time was up])."""
    deadline = time.monotonic() + wait_for_live
    found = {}
    while True:
        running = {process.pid for process in _RUNNING}
        adopted = {pid: state for pid, state in children_of(os.getpid()).items() if pid not in running}
        found.update(adopted)
        live = [pid for pid, state in adopted.items() if state != "Z"]
        for pid, state in adopted.items():
            if state == "Z":
                os.waitpid(pid, 0)
        if not live:
            return found, []
        if time.monotonic() > deadline:
            for pid in live:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            return found, live
        time.sleep(0.05)


def reap_orphans(stage):
    """Children a stopped server left behind were re-parented to us: reap them and report. Part 5's
    children may still be finishing their work when SIGTERM ends their parent: they get 10 s."""
    orphans, live = reap_adopted(10 if stage.leaves_zombies else 0)
    if orphans and not stage.leaves_zombies:
        zombies = sum(state == "Z" for state in orphans.values())
        return [f"left {len(orphans)} child process(es) behind: {some(orphans)}"
                + (f": {zombies} zombie(s), ended and never waited for" if zombies else "")]
    if live:
        return [f"left {len(live)} live child process(es) behind: {some(live)}"]
    return []


# Leaking descriptors is the point of this flag; and with --delay a connection may still be open.
LEAKS_BY_DESIGN = ("--parent-keeps-client", "--delay")


def descriptor_leaks(server, timeout=3.0):
    """After a test, the server's descriptor count must come back to what it was once it listened."""
    if server.process.poll() is not None or any(arg in server.args for arg in LEAKS_BY_DESIGN):
        return []
    deadline = time.monotonic() + timeout
    while (count := fd_count(server.pid)) != server.fd_baseline:
        if time.monotonic() > deadline:
            return [f"leaked descriptors: {count} open, {server.fd_baseline} when it started listening"]
        time.sleep(0.05)
    return []


# Built with SANITIZE=1, a server checks itself for leaks at exit, and LeakSanitizer starts a
# thread of its own for that. A test that lets the server start no more threads switches it off.
NO_LEAK_CHECK = {"ASAN_OPTIONS": "detect_leaks=0"}


_RUNNING = []  # the Popen objects of servers started and not yet stopped: our own children


def reap_strays(timeout=5.0):
    """Reap what a tool a test ran left re-parented to us (a browser's helper processes, say), so
    that a server's teardown does not take it for its own. Call it while the servers run: their
    children are still theirs, not ours."""
    reap_adopted(timeout)


@pytest.fixture
def servers():
    """A factory: servers(stage, *args) starts one more server; all are stopped at teardown."""
    started = []

    def start(stage, *args, **kwargs):
        server = start_server(stage, *args, **kwargs)
        server.fd_baseline = fd_count(server.pid)
        started.append(server)
        _RUNNING.append(server.process)
        return server

    yield start
    problems = []
    for server in started:
        # A learner's server is graded on its leaks and its children once, by the behaviours that
        # own them (vanishing_clients, who_closes_what, no_zombies, ...): not again by every test.
        graded_elsewhere = server.stage == GRADED
        leaks = descriptor_leaks(server)
        _RUNNING.remove(server.process)
        stopped = stop_server(server, graded_elsewhere)
        problems += [f"{server.stage.binary} {' '.join(server.args)}: {p}"
                     for p in ([] if graded_elsewhere else leaks) + stopped]
    if problems:
        pytest.fail("\n".join(problems))


@pytest.fixture
def server(stage, servers):
    """The stage's server with no extra arguments."""
    return servers(stage)


# ---- talking HTTP over a raw socket ---------------------------------------------------------------

@dataclass
class Exchange:
    """What went through one connection a test made, as a failure is reported to a learner."""
    sent: bytes = b""      # the first KEPT_BYTES of each direction
    received: bytes = b""
    ended: str = ""        # how the reading ended: "closed", "reset", "no answer within 1 s"
    shown: bool = False    # the one to report, whichever came last (see show_in_report)


KEPT_BYTES = 4096
EXCHANGES = []  # the current test's connections, in the order they were made


class RecordedSocket(socket.socket):
    """A client socket that notes what it sent and received, for the grader's report."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.exchange = Exchange()
        EXCHANGES.append(self.exchange)

    def _note(self, attribute, data):
        kept = getattr(self.exchange, attribute)
        setattr(self.exchange, attribute, kept + bytes(data[:KEPT_BYTES - len(kept)]))

    def send(self, data, *args):
        count = super().send(data, *args)
        self._note("sent", memoryview(data)[:count])
        return count

    def sendall(self, data, *args):
        self._note("sent", memoryview(data))  # first: it may fail halfway, the server gone
        return super().sendall(data, *args)

    def recv(self, size, *args):
        try:
            data = super().recv(size, *args)
        except socket.timeout:
            waited = "nothing more" if self.exchange.received else "no answer"
            self.exchange.ended = f"{waited} within {self.gettimeout():g} s"
            raise
        except ConnectionResetError:
            self.exchange.ended = "reset"
            raise
        self._note("received", data)
        if not data:
            self.exchange.ended = "closed"
        return data


def show_in_report():
    """Report the test's last connection so far if it fails, rather than whatever it does next."""
    if EXCHANGES:
        EXCHANGES[-1].shown = True


def connect(port, timeout=10.0):
    sock = RecordedSocket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(("127.0.0.1", port))
    except OSError as e:
        sock.exchange.ended = f"could not connect: {e.strerror or e}"
        sock.close()
        raise
    return sock


def read_until_closed(sock):
    chunks = []
    while True:
        data = sock.recv(65536)
        if not data:
            return b"".join(chunks)
        chunks.append(data)


def read_one_response(sock):
    """Read one response from `sock`: its header section, then Content-Length bytes of body (so
    it works whether or not the server then closes the connection). Returns it parsed."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"the connection ended inside the header section: {data[:200]!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(re.search(rb"\r\nContent-Length: (\d+)", head, re.IGNORECASE).group(1))
    while len(body) < length:
        chunk = sock.recv(65536)
        assert chunk, "the connection ended inside the body"
        body += chunk
    return parse_response(head + b"\r\n\r\n" + body)


def exchange(port, raw, timeout=10.0):
    """Send raw bytes, read until the server closes, and return what came back."""
    with connect(port, timeout) as sock:
        sock.sendall(raw)
        try:
            return read_until_closed(sock)
        except ConnectionResetError:
            return b""


@dataclass
class HttpResponse:
    status: int
    reason: str
    headers: dict      # lower-case name -> value (repeated names: the last)
    header_list: list  # [(name, value)] as received
    body: bytes


def parse_response(data):
    head, sep, body = data.partition(b"\r\n\r\n")
    assert sep, f"no blank line ending the header section in {data[:200]!r}"
    lines = head.decode("latin-1").split("\r\n")
    m = re.fullmatch(r"HTTP/1\.1 (\d{3}) (.*)", lines[0])
    assert m, f"bad status line {lines[0]!r}"
    header_list = [tuple(part.strip() for part in line.split(":", 1)) for line in lines[1:]]
    headers = {name.lower(): value for name, value in header_list}
    return HttpResponse(int(m.group(1)), m.group(2), headers, header_list, body)


def request(port, method="GET", target="/hello", headers=None, body=b"", version="HTTP/1.1"):
    """A well-formed request; returns the parsed response."""
    lines = [f"{method} {target} {version}", f"Host: 127.0.0.1:{port}"]
    for name, value in (headers or {}).items():
        lines.append(f"{name}: {value}")
    if body:
        lines.append(f"Content-Length: {len(body)}")
    raw = ("\r\n".join(lines) + "\r\n\r\n").encode() + body
    return parse_response(exchange(port, raw))
