"""Slow and vanishing clients, against every stage: the timeouts of common/connection.hpp at work.

A slowloris client (one byte a second) is cut off with 408 when the request timeout runs out; a
client that never reads a large answer is given up when the write timeout runs out; clients that
vanish, or reset the connection while the server writes to them, cost the server nothing: it stays
up (no SIGPIPE) and its descriptor count (/proc/PID/fd) returns to what it was.

The two timeout scenarios take about 13 s each. Rather than one after the other for every stage,
they all run at once, each against a server of its own, in threads started by the `slow_runs`
fixture when the first of them is needed; each test then waits for its own scenario and checks
what it measured. The file takes as long as the slowest scenario, whatever the number of stages.
"""

import socket
import struct
import threading
import time

import pytest

from conftest import (connect, exchange, fd_count, parse_response, request, start_tracked_server,
                      stop_tracked_server, wait_until)

REQUEST_TIMEOUT = 10.0  # kRequestTimeout in common/connection.hpp
WRITE_TIMEOUT = 10.0    # kWriteTimeout
SLACK = 3.0             # for a loaded machine: the bounds below are generous on purpose
ENVIRON_APP = "part2/environ.so"  # echoes the body, escaped: a large answer (stages 2 and later)
GET_HELLO = b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"


def large_answer_request():
    """A 1 MiB body (kMaxBodyBytes) of line feeds, which the environ app escapes as \\x0a: 4 MiB back."""
    body = b"\n" * (1024 * 1024)
    return b"POST /big HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body) + body


def small_window_socket(port, timeout):
    """A connection whose receive buffer is tiny, so that the server's answer backs up quickly."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connect(): sets the window
    sock.settimeout(timeout)
    sock.connect(("127.0.0.1", port))
    return sock


def reset(sock):
    """Close with SO_LINGER 0: the kernel sends RST instead of FIN, and drops what is unread."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def timed_get(port, start, delay, out):
    """After `delay` s, GET /hello; record the status and when it came, in s after `start`."""
    time.sleep(delay)
    data = exchange(port, GET_HELLO, timeout=30)
    out["status"] = parse_response(data).status
    out["at"] = time.monotonic() - start


def settled_fd_count(server):
    """The server's descriptor count once it has served one request (whatever it opens lazily)."""
    assert request(server.port).status == 200
    time.sleep(0.1)
    return fd_count(server.pid)


# ---- the slow scenarios, each against a server of its own ---------------------------------------

def slowloris(port):
    """Send a request one byte a second, never finishing it; after 1 s a normal client asks too."""
    start = time.monotonic()
    normal = {}
    other = threading.Thread(target=timed_get, args=(port, start, 1.0, normal))
    other.start()
    answer, answered_at = b"", None
    with connect(port, timeout=1.0) as sock:  # each recv() below waits 1 s: the client's pace
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for byte in b"GET /hello HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"s" * 40:
            try:
                sock.send(bytes([byte]))
                answer = sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                break
            answered_at = time.monotonic() - start
            sock.settimeout(5.0)
            while chunk := sock.recv(65536):
                answer += chunk
            break
    other.join(timeout=40)
    return {"answer": answer, "answered_at": answered_at, "normal": normal}


def never_reader(port):
    """Ask for a 4 MiB answer and read none of it; after 1 s a normal client asks too. Once the
    write timeout has passed for sure, read what the server did send."""
    start = time.monotonic()
    normal = {}
    other = threading.Thread(target=timed_get, args=(port, start, 1.0, normal))
    sock = small_window_socket(port, timeout=10.0)
    try:
        sock.sendall(large_answer_request())
        other.start()
        other.join(timeout=40)
        time.sleep(max(0.0, start + WRITE_TIMEOUT + SLACK - time.monotonic()))
        received, ended_by = b"", "end of stream"
        try:
            while chunk := sock.recv(1 << 20):
                received += chunk
        except ConnectionResetError:
            ended_by = "reset"
        except socket.timeout:
            ended_by = "timeout: the server was still holding the connection"
    finally:
        sock.close()
    return {"received": received, "ended_by": ended_by, "normal": normal}


SLOW_SCENARIOS = {  # test name -> (scenario, whether it needs the environ app)
    "test_slowloris_is_cut_off_with_408_and_the_next_client_is_served": (slowloris, False),
    "test_a_client_that_never_reads_is_given_up_after_the_write_timeout": (never_reader, True),
}


class SlowRun:
    """One scenario against a server of its own, in a thread of its own."""

    def __init__(self, scenario, stage, args):
        self.server = start_tracked_server(stage, *args)
        self.scenario = scenario
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.result, self.error, self.finished = None, None, False

    def _run(self):
        try:
            self.result = self.scenario(self.server.port)
        except Exception as e:  # handed to the test, which raises it
            self.error = e

    def finish(self):
        """Wait for the scenario, stop its server, and return what the scenario measured. Runs in
        the test's thread: only the threads of the scenarios run at once, never two stops."""
        self.thread.join(timeout=60)
        self.finished = True
        problems = stop_tracked_server(self.server)
        if self.thread.is_alive():
            pytest.fail("the scenario did not finish within 60 s")
        if self.error:
            raise self.error
        assert not problems, f"{self.server.stage.binary}: " + "; ".join(problems)
        return self.result


@pytest.fixture(scope="module")
def slow_runs(request):
    """Start every slow scenario selected in this run, for each of its stages, all at once."""
    runs = {}
    for item in request.session.items:
        name = getattr(item, "originalname", None)
        if item.module is request.module and name in SLOW_SCENARIOS:
            scenario, needs_app = SLOW_SCENARIOS[name]
            stage = item.callspec.params["stage"]
            runs[(name, stage.name)] = SlowRun(scenario, stage, (ENVIRON_APP,) if needs_app else ())
    for run in runs.values():  # every server is up before any scenario starts
        run.thread.start()
    yield runs
    for run in runs.values():  # those whose test did not run to the end
        if not run.finished:
            run.finish()


@pytest.fixture
def slow_run(request, slow_runs, stage):
    """This test's scenario against this stage, started already; its finish() waits for it."""
    return slow_runs[(request.node.originalname, stage.name)]


# ---- the tests -------------------------------------------------------------------------------------

def served_at_once_or_right_after(normal, cut_off):
    """A concurrent server serves the normal client at once (it asked at 1 s); an iterative one
    only after it is done with the bad client, at `cut_off`, and then right away."""
    at_once = normal["at"] < 1.0 + SLACK
    right_after = cut_off - 0.5 <= normal["at"] <= cut_off + SLACK
    return at_once or right_after


def test_slowloris_is_cut_off_with_408_and_the_next_client_is_served(stage, slow_run):
    measured = slow_run.finish()
    answer, at, normal = measured["answer"], measured["answered_at"], measured["normal"]
    assert at is not None, f"no answer to the slow client; got {answer!r}"
    assert parse_response(answer).status == 408
    # The request timeout counts from the connection's start, not from the last byte received.
    assert REQUEST_TIMEOUT - 0.5 <= at <= REQUEST_TIMEOUT + SLACK, f"408 after {at:.1f} s"
    assert normal.get("status") == 200, f"the normal client got {normal}"
    assert served_at_once_or_right_after(normal, at), (
        f"normal client served after {normal['at']:.1f} s; the slow one was cut off at {at:.1f} s")


@pytest.mark.stages(first=2)
def test_a_client_that_never_reads_is_given_up_after_the_write_timeout(stage, slow_run):
    measured = slow_run.finish()
    normal, received = measured["normal"], measured["received"]
    assert normal.get("status") == 200, f"the normal client got {normal}"
    # The server began writing at once, so it gave up WRITE_TIMEOUT later; an iterative server
    # served the other client then.
    assert served_at_once_or_right_after(normal, WRITE_TIMEOUT), f"normal client served after {normal['at']:.1f} s"
    # It gave up: the connection ended with the answer cut short, though the client never left.
    assert measured["ended_by"] in ("end of stream", "reset"), measured["ended_by"]
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 "), f"{received[:100]!r}"
    length = int(parse_response(head + b"\r\n\r\n").headers["content-length"])
    assert length > 4 * 1024 * 1024
    assert len(body) < length, "the whole answer arrived: the server never gave up"


def test_clients_that_vanish_mid_request_cost_nothing(stage, servers):
    server = servers(stage)
    baseline = settled_fd_count(server)
    cut_short = [b"",                                                      # connect and leave
                 b"GET /hel",                                              # in the request line
                 b"GET /hello HTTP/1.1\r\nHost: x\r\n",                    # in the header section
                 b"POST /hello HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\npart of it"]
    for raw in cut_short * 5:
        with connect(server.port) as sock:
            sock.sendall(raw)
    # The server sees each end of stream at once: no timeout is waited out, no descriptor kept.
    wait_until(lambda: fd_count(server.pid) == baseline, timeout=3.0)
    assert server.process.poll() is None
    assert request(server.port).status == 200


def test_clients_that_reset_while_the_server_writes_cost_nothing(stage, servers):
    large = stage.number >= 2  # the environ app gives a large answer; part1 has only small ones
    server = servers(stage, ENVIRON_APP) if large else servers(stage)
    baseline = settled_fd_count(server)
    # A reset right after the request: the answer is written to a connection that is gone.
    for _ in range(20):
        sock = connect(server.port)
        sock.sendall(GET_HELLO)
        reset(sock)
    # A reset in the middle of a 4 MiB answer, the server blocked writing it: its next send()
    # fails with EPIPE or ECONNRESET, which without MSG_NOSIGNAL would be SIGPIPE, and death.
    resets = 3 if large else 0
    for _ in range(resets):
        sock = small_window_socket(server.port, timeout=10.0)
        sock.sendall(large_answer_request())
        assert sock.recv(4096).startswith(b"HTTP/1.1 200 ")
        reset(sock)
    if resets:  # the stage's own log says the write failed, so the server was still writing
        server.wait_for_log(r"could not be sent the answer", count=resets)
    assert server.process.poll() is None, f"the server died: exit status {server.process.returncode}"
    wait_until(lambda: fd_count(server.pid) == baseline, timeout=5.0)
    assert request(server.port).status == 200
