"""The course text, checked: a pytest plugin that runs the commands a markdown text shows and
compares what they print with what the text says they print.

    tests/notes/check-notes [FILE.md]        (make check-notes; FILE.md is NOTES.md unless given)

Each code block of the text is a test named after its section and line. Its marker, an HTML
comment on the line before it (the rendered page does not show it), says what to do with it:

  <!-- check -->   The block is a shell transcript. `$ COMMAND` lines are commands (a trailing \\
                   continues one on the next line); the lines after one, up to the next `$ `
                   line, are what it prints. The commands run in order in one bash shell, in a
                   copy of the repository (its root the working directory), on a terminal of their
                   own, as a reader types them: the same port 8888, the same PATH.
  <!-- check; OPTION; OPTION ... -->   The same, with options:
      server: CMD      start CMD first, on a terminal of its own, wait for its "Serving HTTP on
                       HOST port PORT" line, and stop it after the block (by its pid: SIGTERM,
                       SIGKILL 5 s later). May repeat. A `;` in CMD is part of it, unless an
                       option's name follows.
      log              the block is not a transcript but what the first server printed, compared
                       after the `do:` commands (once it matches and stays so, or stops changing)
      do: CMD          run CMD first, unseen by the reader; it must succeed. May repeat.
      varies: TOKEN..  tokens of the expected text that vary from run to run. Each occurrence
                       matches any token of the same shape: a number if TOKEN is digits, a run of
                       [0-9a-f] if it is hex ([0-9A-F] if written so), otherwise any run of
                       non-blanks. TOKEN=LO-HI matches a number from LO to HI.
      unordered        the expected lines may come in any order
      fresh            run in a fresh copy of the repository (the block changes files)
      timeout: SECONDS for the whole block (default 30)
      A line `...` in the expected text stands for any number of lines, or none.
  <!-- manual: REASON -->  the block cannot be checked; the reason is reported
  <!-- quote: FILE -->     each line of the block, `...` aside, is a line of FILE (blanks around
                           a line aside), so that quoted code cannot drift from the source
  <!-- figure -->          a picture: counted apart, not checked
A code block without a marker fails, and so does a marker without a block.

Output is compared as a terminal shows it (colours and carriage returns applied), line by line,
blank lines at the end aside; a run of blanks matches any other (column widths follow the widths
of the pids and ports in them).

The blocks run in network and process-id namespaces of their own when the wrapper can make them
(check-notes), so that 8888 is free and `pgrep` finds only the checker's processes; each block gets
a network of its own there, with nothing left in it by the blocks before. Where the namespaces
cannot be made, the blocks run one at a time in the machine's own, and the closing lines say so;
if 8888 is taken there, the blocks that run commands are skipped, saying why. Every
process a block starts is stopped by its pid when the block ends: this process is a subreaper (or
the namespace's init), so whatever a block leaves behind is its descendant, found in /proc.
"""

import ctypes
import difflib
import fcntl
import os
import pathlib
import pty
import re
import secrets
import select
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import termios
import threading
import time

import pytest

from blocks import as_expected, matches, read_blocks, screen_lines, trim
from processes import become_subreaper, proc_stat, terminate

PORT = 8888
COLUMNS, ROWS = 120, 40  # the terminals' size: what `ps` and `ls` fit their lines to
BUILT = ("build", "part1", "part2", "part3", "part4", "part5", "part6")
SERVING = re.compile(r"Serving HTTP on \S+ port \d+ ")
STOP_GRACE = 5.0   # seconds between SIGTERM and SIGKILL
QUIET = 5.0        # a server's log that has not changed for this long is taken as final

# What the commands see: a plain login's environment, not this process's (whose python3 may be
# another build, whose variables are pytest's).
ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "HOME": os.environ.get("HOME", "/root"),
    "USER": os.environ.get("USER", "root"),
    "LOGNAME": os.environ.get("LOGNAME", "root"),
    "LANG": "C.UTF-8",
    "TERM": "dumb",
    "PAGER": "cat",
}
# The build's own settings, so that a block's `make` finds the copy's build up to date, as built.
BUILD_SETTINGS = ("CXX", "CC", "CXXFLAGS", "LDFLAGS", "SANITIZE")
ENV.update({name: os.environ[name] for name in BUILD_SETTINGS if name in os.environ})


class BlockFailure(Exception):
    """A block that does not hold: the message says how, for a reader of the text."""


# ---- the plugin's hooks ---------------------------------------------------------------------------

def pytest_configure(config):
    # What a block leaves running when its processes end is re-parented to us, to be stopped.
    become_subreaper()
    config.notes_scratch = Scratch(config.rootpath)
    # The tally knows every block from the start, from the texts named on the command line: with
    # the blocks run by workers of their own (pytest -n), this process collects none itself.
    for arg in config.args:
        path = pathlib.Path(arg).resolve()
        if path.suffix == ".md" and path.is_file():
            for block in read_blocks(path.read_text()):
                if block.kind == "figure" and not block.error:
                    TALLY.figures += 1
                else:
                    TALLY.blocks[f"{path.relative_to(config.rootpath)}::{block.name}"] = block


def pytest_unconfigure(config):
    config.notes_scratch.remove_all()
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        write_tally(reporter.write_line)


def pytest_collect_file(file_path, parent):
    if file_path.suffix == ".md":
        return NotesFile.from_parent(parent, path=file_path)
    return None


class NotesFile(pytest.File):
    def collect(self):
        for block in read_blocks(self.path.read_text()):
            if block.kind != "figure" or block.error:
                yield BlockItem.from_parent(self, name=block.name, block=block)


class BlockItem(pytest.Item):
    def __init__(self, *, block, **kwargs):
        super().__init__(**kwargs)
        self.block = block

    def runtest(self):
        block = self.block
        if block.error:
            raise BlockFailure(block.error)
        if block.kind == "manual":
            pytest.skip(f"manual: {block.reason}")
        if block.kind == "quote":
            check_quote(block, self.config.rootpath)
            return
        new_network()
        why_not = port_taken()
        if why_not:
            pytest.skip(why_not)
        scratch = self.config.notes_scratch
        cwd = scratch.copy() if block.fresh else scratch.shared()
        try:
            run_check(block, cwd, scratch.new_path("shell"), self.path.name)
        finally:
            if block.fresh:
                scratch.remove(cwd)

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, BlockFailure):
            return f"{self.path.name}, line {self.block.line} ({self.block.section}):\n{excinfo.value}"
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, self.block.line - 1, self.name


# ---- the tally: N blocks checked, M manual ----------------------------------------------------------

class Tally:
    """What became of each block, for the closing lines."""

    def __init__(self):
        self.figures = 0
        self.blocks = {}    # test id -> Block
        self.outcomes = {}  # test id -> "passed", "failed" or "skipped"
        self.skipped = {}   # test id -> why it was skipped


TALLY = Tally()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item):
    outcome = yield
    report = outcome.get_result()
    if isinstance(item, BlockItem) and report.skipped and isinstance(report.longrepr, tuple):
        report.longrepr = (str(item.path), item.block.line, report.longrepr[2])


def pytest_runtest_logreport(report):
    if report.nodeid in TALLY.blocks and (report.when == "call" or report.failed):
        TALLY.outcomes[report.nodeid] = report.outcome
        if report.skipped and isinstance(report.longrepr, tuple):
            TALLY.skipped[report.nodeid] = report.longrepr[2].removeprefix("Skipped: ")


def write_tally(write):
    """The closing lines, after pytest's: each manual block, then N blocks checked, M manual: why."""
    ran = [(TALLY.blocks[nodeid], outcome, TALLY.skipped.get(nodeid)) for nodeid, outcome in TALLY.outcomes.items()]
    if not ran and not TALLY.figures:
        return
    run = [(b, outcome, why) for b, outcome, why in ran if b.kind in ("check", "quote") and not b.error]
    checked = [b for b, outcome, _ in run if outcome != "skipped"]
    failed = [b for b, outcome, _ in run if outcome == "failed"]
    not_run = [why for _, outcome, why in run if outcome == "skipped"]
    manual = [b for b, _, _ in ran if b.kind == "manual" and not b.error]
    wrong = [b for b, _, _ in ran if b.error]
    for b in manual:
        write(f"manual, line {b.line} ({b.section}): {b.reason}")
    notes = [f"{TALLY.figures} figure{'s' * (TALLY.figures != 1)}, not counted"]
    if failed:
        notes.append(f"{len(failed)} of the checked blocks failed")
    if wrong:
        notes.append(f"{len(wrong)} block{'s' * (len(wrong) != 1)} unmarked or wrongly marked")
    if not_run:
        notes.append(f"{len(not_run)} not run: {not_run[0]}")
    if os.environ.get("CHECK_NOTES_PRIVATE") != "1":
        notes.append(f"run in {where_run()}")
    write("; ".join(notes))
    reasons = "; ".join(dict.fromkeys(b.reason for b in manual))
    write(f"{len(checked)} block{'s' * (len(checked) != 1)} checked, {len(manual)} manual"
          + (f": {reasons}" if reasons else ""))


# ---- quotes ---------------------------------------------------------------------------------------

def check_quote(block, root):
    """Each line of the excerpt, but `...`, is a line of the file, blanks around it aside."""
    path = root / block.reason
    if not path.is_file():
        raise BlockFailure(f"quotes {block.reason}, which does not exist")
    source = {line.strip() for line in path.read_text().splitlines()}
    missing = [line for line in block.text.splitlines() if line.strip() not in source | {"", "..."}]
    if missing:
        raise BlockFailure(f"lines quoted from {block.reason} that it does not hold:\n"
                           + "\n".join(f"    {line}" for line in missing))


# ---- running a check block ------------------------------------------------------------------------

def run_check(block, cwd, script, source_name):
    """Start the block's servers, run its commands, compare; stop everything it started."""
    deadline = time.monotonic() + block.timeout
    steps = block.steps
    servers, shell = [], None
    try:
        for command in block.servers:
            servers.append(start_server(command, cwd, deadline))
        shell = Shell(block.hidden + [step.command for step in steps], cwd, script)
        shell.wait(deadline)
        outputs = shell.outputs()
        check_hidden(block, outputs[:len(block.hidden)], shell)
        if block.log:
            compare_log(block, servers[0], deadline, source_name)
        else:
            compare_transcript(block, steps, outputs[len(block.hidden):], shell, source_name)
    finally:
        for terminal in ([shell] if shell else []) + servers:
            terminate(terminal.process, STOP_GRACE)
        stop_leftovers()
        for terminal in ([shell] if shell else []) + servers:
            terminal.close()


def check_hidden(block, outputs, shell):
    for command, (status, lines) in zip(block.hidden, outputs):
        if status != 0:
            raise BlockFailure(f"`do: {command}` failed (status {status}):\n" + indent(lines))
    if len(outputs) < len(block.hidden):
        command = block.hidden[len(outputs)]
        raise BlockFailure(f"`do: {command}` {shell.why_ended()}:\n" + indent(shell.rest()))


def compare_transcript(block, steps, outputs, shell, source_name):
    expected, got, ok = [], [], len(outputs) == len(steps)
    for i, step in enumerate(steps):
        expected += step.shown + step.expected
        got += step.shown
        if i < len(outputs):
            ok = matches(step.expected, outputs[i][1], block.varies, block.unordered) and ok
            got += as_expected(step.expected, outputs[i][1], block.varies, block.unordered)
        elif i == len(outputs):
            got += shell.rest() + [f"(the shell {shell.why_ended()})"]
    if not ok:
        raise BlockFailure("what the commands printed differs from the text\n"
                           + diff(expected, got, source_name, block.line))


def compare_log(block, server, deadline, source_name):
    """Wait for the server's log to match the block, and to stay so a moment; or to stop changing
    for QUIET seconds; or the deadline. Then compare."""
    expected = block.text.splitlines()
    last, changed = None, time.monotonic()
    while True:
        got = server.lines()
        now = time.monotonic()
        if got != last:
            last, changed = got, now
        ok = matches(expected, got, block.varies, block.unordered)
        if (ok and now - changed > 0.3) or now - changed > QUIET or now > deadline:
            break
        time.sleep(0.05)
    if not ok:
        raise BlockFailure("the server's log differs from the text\n"
                           + diff(trim(expected), as_expected(expected, got, block.varies, block.unordered),
                                  source_name, block.line))


def diff(expected, got, source_name, line):
    return "\n".join(difflib.unified_diff(expected, got, f"{source_name}, line {line} (the text)",
                                          "what ran", lineterm=""))


def indent(lines):
    return "\n".join(f"    {line}" for line in trim(lines)) or "    (nothing)"


# ---- terminals, servers and sessions --------------------------------------------------------------

class Terminal:
    """A program on a pseudo-terminal of its own, as in a terminal window: standard input, output
    and error are the terminal, which is its controlling terminal (setsid --ctty). What it prints
    is read as it comes, so that it never blocks on a full terminal."""

    def __init__(self, argv, cwd):
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLUMNS, 0, 0))
        # setsid(1) does not fork here (our child is no process group leader): the pid is the program's.
        self.process = subprocess.Popen(["setsid", "--ctty", *argv], cwd=cwd, env=ENV,
                                        stdin=slave, stdout=slave, stderr=slave)
        os.close(slave)
        self.master = master
        self.chunks = []
        self.stop_reading = threading.Event()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        while not self.stop_reading.is_set():
            if select.select([self.master], [], [], 0.05)[0]:
                try:
                    data = os.read(self.master, 65536)
                except OSError:  # EIO: no process holds the terminal any more
                    return
                if not data:
                    return
                self.chunks.append(data)

    def text(self):
        return b"".join(list(self.chunks)).decode("utf-8", "replace")

    def lines(self):
        return trim(screen_lines(self.text()))

    def settle(self, quiet=0.2, limit=2.0):
        """Wait until the terminal is closed on the other side, or has been quiet a moment."""
        end = time.monotonic() + limit
        count = -1
        while self.reader.is_alive() and time.monotonic() < end:
            if len(self.chunks) == count:
                return
            count = len(self.chunks)
            time.sleep(quiet)

    def close(self):
        self.stop_reading.set()
        self.reader.join()
        os.close(self.master)


def start_server(command, cwd, deadline):
    """Start a `server:` command and wait for its Serving line."""
    server = Terminal(["bash", "-c", command], cwd)
    until = min(deadline, time.monotonic() + 10)
    while not SERVING.search(server.text()):
        if server.process.poll() is not None or time.monotonic() > until:
            state = (f"it exited with status {server.process.returncode}" if server.process.poll() is not None
                     else "it had not started within 10 s")
            terminate(server.process, STOP_GRACE)
            server.settle()
            server.close()
            raise BlockFailure(f"`server: {command}` never said it was serving ({state}); it printed:\n"
                               + indent(server.lines()))
        time.sleep(0.02)
    return server


# What bash says of its background jobs: `[1]+  Terminated   ./part3/server > server.log`. A
# reader's interactive shell prints it between prompts, whenever it notices; this script's shell,
# as soon as it notices, in the middle of whatever a command prints. It is the shell's, not the
# commands', and the text leaves it out.
JOB_NEWS = re.compile(r"^\[\d+\][+-]? +(Running|Stopped|Done|Exit \d+|Terminated|Killed|Hangup|Interrupt)\b")


def without_job_news(lines):
    return [line for line in lines if not JOB_NEWS.match(line)]


class Shell(Terminal):
    """Commands run in order in one bash shell, each one's output and exit status told apart by
    a line of our own that it cannot print (a random mark)."""

    def __init__(self, commands, cwd, script):
        self.commands = commands
        self.timed_out = False
        self.mark = f"check-notes-{secrets.token_hex(8)}"
        # Each command reads /dev/null, where a reader would type; the mark follows its output.
        # Job control on (set -m), as in a reader's terminal: a command started with `&` runs in a
        # process group of its own, in the background, so that ps does not show it as foreground.
        text = "set -m\n" + "".join(f"{{\n{command}\n}} </dev/null\nprintf '\\n{self.mark} %d\\n' $?\n"
                       for command in commands)
        # From a file, not `bash -c`: a `pgrep -f` in the text must not find the shell's own command line.
        with open(script, "w") as f:
            f.write(text)
        super().__init__(["bash", "--noprofile", "--norc", script], cwd)

    def wait(self, deadline):
        try:
            self.process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.timed_out = True
        self.settle()

    def _pieces(self):
        return re.split(rf"\n{self.mark} (\d+)\n", self.text().replace("\r\n", "\n"))

    def outputs(self):
        """[(status, lines)] of each command that finished."""
        pieces = self._pieces()
        return [(int(pieces[i + 1]), trim(without_job_news(screen_lines(pieces[i]))))
                for i in range(0, len(pieces) - 1, 2)]

    def rest(self):
        """What was printed after the last command that finished."""
        return trim(without_job_news(screen_lines(self._pieces()[-1])))

    def why_ended(self):
        if self.timed_out:
            return f"did not end within the block's time ({self.commands[len(self.outputs())]!r} was running)"
        return f"ended before it had run every command (bash exited with status {self.process.returncode})"


# ---- what a block leaves behind -------------------------------------------------------------------

def descendants(pid):
    """{pid: state} of every process below `pid`, from /proc."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (stat := proc_stat(int(entry))):
            state, ppid = stat
            parents[int(entry)] = (ppid, state)
    found, frontier = {}, [pid]
    while frontier:
        parent = frontier.pop()
        for child, (ppid, state) in parents.items():
            if ppid == parent and child not in found:
                found[child] = state
                frontier.append(child)
    return found


def stop_leftovers():
    """SIGTERM every process still below this one (the servers' children, the transcripts'
    background jobs), SIGKILL what is left STOP_GRACE seconds later, and reap what comes to us."""
    deadline = time.monotonic() + STOP_GRACE
    signalled = set()
    while True:
        found = descendants(os.getpid())
        for pid, state in found.items():
            if state == "Z":
                try:
                    os.waitpid(pid, os.WNOHANG)  # ours to reap only if re-parented to us
                except ChildProcessError:
                    pass
        live = [pid for pid, state in found.items() if state != "Z"]
        if not found:
            return
        sig = signal.SIGKILL if time.monotonic() > deadline else signal.SIGTERM
        for pid in live:
            if pid not in signalled or sig == signal.SIGKILL:
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
                signalled.add(pid)
        time.sleep(0.05)


def new_network():
    """A network of the block's own, as a machine just started has: nothing listening, nothing in
    TIME_WAIT from the blocks before (`ss -tan` shows the block's connections alone). Only inside
    check-notes's namespaces, where we may make one; the commands we start from here on are in it."""
    if os.environ.get("CHECK_NOTES_PRIVATE") != "1":
        return
    CLONE_NEWNET = 0x40000000
    if ctypes.CDLL(None, use_errno=True).unshare(CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWNET)")
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)


def port_taken():
    """Why the blocks cannot run here, or "" if port 8888 is free for them."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", PORT))
            return ""
        except OSError as e:
            return f"port {PORT} is taken ({e.strerror}), running in {where_run()}"


def where_run():
    """Where the blocks run, as the wrapper (check-notes) says."""
    return os.environ.get("CHECK_NOTES_PLACE", "the machine's own network and processes")


# ---- the run's scratch directory -----------------------------------------------------------------

class Scratch:
    """A directory for the run, removed when it ends however it ends: copies of the repository for
    the blocks to run in (its tracked files and what `make` built, timestamps kept, so that make
    finds the build up to date), and the shells' scripts. One copy is shared by the blocks, in
    order; a `fresh` block gets one of its own."""

    def __init__(self, root):
        self.root = root
        self.path = None
        self.count = 0
        self._shared = None

    def new_path(self, name):
        if self.path is None:
            self.path = tempfile.mkdtemp(prefix="check-notes-")
        self.count += 1
        return os.path.join(self.path, f"{name}-{self.count}")

    def shared(self):
        if self._shared is None:
            self._shared = self.copy()
        return self._shared

    def copy(self):
        path = self.new_path("copy")
        os.mkdir(path)
        tracked = subprocess.run(["git", "ls-files", "-z"], cwd=self.root, capture_output=True,
                                 check=True).stdout
        names = [n for n in tracked.split(b"\0") if n and os.path.lexists(self.root / os.fsdecode(n))]
        names += [n.encode() for n in BUILT if (self.root / n).exists()]
        copy = 'tar -C "$1" --null -T - -cf - | tar -C "$2" -xf -'  # tar keeps the timestamps
        subprocess.run(["sh", "-c", copy, "sh", self.root, path], input=b"\0".join(names), check=True)
        return path

    def remove(self, path):
        shutil.rmtree(path, ignore_errors=True)

    def remove_all(self):
        if self.path is not None:
            shutil.rmtree(self.path, ignore_errors=True)
