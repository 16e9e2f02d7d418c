"""Slow and vanishing clients, against every stage: the timeouts of common/connection.hpp at work.

A slowloris client (one byte at a time) is cut off with 408 when the request timeout runs out; a
client that never reads a large answer is given up when the write timeout runs out; clients that
vanish, or reset the connection while the server writes to them, cost the server nothing: it stays
up (no SIGPIPE) and its descriptor count (/proc/PID/fd) returns to what it was.

The servers' defaults are 10 s for each timeout; the tests set them short (--request-timeout,
--write-timeout) and check the same behaviour against those.
"""

import socket
import struct
import threading
import time

import pytest

from conftest import connect, exchange, fd_count, parse_response, request, wait_until

REQUEST_TIMEOUT = 2.0  # --request-timeout for these tests (the default is 10 s)
WRITE_TIMEOUT = 2.0    # --write-timeout
PACE = 0.25            # the slowloris client sends a byte this often
SLACK = 3.0            # for a loaded machine: the bounds below are generous on purpose
ENVIRON_APP = "part2/environ.so"  # echoes the body, escaped: a large answer (stages 2 and later)
GET_HELLO = b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"
TIMEOUTS = ("--request-timeout", str(REQUEST_TIMEOUT), "--write-timeout", str(WRITE_TIMEOUT))


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


# ---- the slow scenarios ------------------------------------------------------------------------

def slowloris(port):
    """Send a request a byte every PACE seconds, never finishing it; after 1 s a normal client asks
    too. Returns what the slow client got and when, and what the normal one got and when."""
    start = time.monotonic()
    normal = {}
    other = threading.Thread(target=timed_get, args=(port, start, 1.0, normal))
    other.start()
    answer, answered_at = b"", None
    with connect(port, timeout=PACE) as sock:  # each recv() below waits PACE: the client's pace
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for byte in b"GET /hello HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"s" * 200:
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


def never_reader(server):
    """Ask for a 4 MiB answer and read none of it; after 1 s a normal client asks too. Once the
    server says it gave up writing, read what it did send."""
    start = time.monotonic()
    normal = {}
    other = threading.Thread(target=timed_get, args=(server.port, start, 1.0, normal))
    sock = small_window_socket(server.port, timeout=10.0)
    try:
        sock.sendall(large_answer_request())
        other.start()
        other.join(timeout=40)
        server.wait_for_log(r"could not be sent the answer: Connection timed out$", timeout=WRITE_TIMEOUT + SLACK)
        gave_up_at = time.monotonic() - start
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
    return {"received": received, "ended_by": ended_by, "normal": normal, "gave_up_at": gave_up_at}


# ---- the tests -------------------------------------------------------------------------------------

def served_when_expected(stage, normal, cut_off):
    """A concurrent server serves the normal client at once (it asked at 1 s); an iterative one
    only after it is done with the bad client, at `cut_off`: the normal client was blocked."""
    if stage.forks:
        return normal["at"] < 1.9
    return cut_off - 0.2 <= normal["at"] <= cut_off + SLACK


@pytest.mark.behaviour("timeouts")
def test_slowloris_is_cut_off_with_408_and_the_next_client_is_served(stage, servers):
    measured = slowloris(servers(stage, *TIMEOUTS).port)
    answer, at, normal = measured["answer"], measured["answered_at"], measured["normal"]
    assert at is not None, f"no answer to the slow client; got {answer!r}"
    assert parse_response(answer).status == 408
    # The request timeout counts from the connection's start, not from the last byte received.
    assert REQUEST_TIMEOUT - 0.1 <= at <= REQUEST_TIMEOUT + SLACK, f"408 after {at:.1f} s"
    assert normal.get("status") == 200, f"the normal client got {normal}"
    assert served_when_expected(stage, normal, at), (
        f"normal client served after {normal['at']:.1f} s; the slow one was cut off at {at:.1f} s")


@pytest.mark.stages(first=2)
@pytest.mark.behaviour("timeouts")
def test_a_client_that_never_reads_is_given_up_after_the_write_timeout(stage, servers):
    measured = never_reader(servers(stage, *TIMEOUTS, ENVIRON_APP))
    normal, received = measured["normal"], measured["received"]
    assert normal.get("status") == 200, f"the normal client got {normal}"
    # The server began writing at once, so it gave up WRITE_TIMEOUT later; an iterative server
    # served the other client then.
    assert WRITE_TIMEOUT - 0.1 <= measured["gave_up_at"] <= WRITE_TIMEOUT + SLACK, measured["gave_up_at"]
    assert served_when_expected(stage, normal, WRITE_TIMEOUT), f"normal client served after {normal['at']:.1f} s"
    # It gave up: the connection ended with the answer cut short, though the client never left.
    assert measured["ended_by"] in ("end of stream", "reset"), measured["ended_by"]
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 "), f"{received[:100]!r}"
    length = int(parse_response(head + b"\r\n\r\n").headers["content-length"])
    assert length > 4 * 1024 * 1024
    assert len(body) < length, "the whole answer arrived: the server never gave up"


@pytest.mark.stages(names=("part1", "part3-asio", "part6"))
@pytest.mark.behaviour("timeouts")
def test_a_client_that_sends_nothing_is_closed_quietly_after_the_first_byte_timeout(stage, servers):
    server = servers(stage, "--first-byte-timeout", "0.3")
    with connect(server.port) as sock:
        started = time.monotonic()
        assert sock.recv(1) == b""  # closed, and not a byte of answer
        took = time.monotonic() - started
    assert 0.25 <= took < 0.3 + SLACK, f"closed after {took:.2f} s"
    server.wait_for_log(r"sent nothing; closing the connection$")
    assert request(server.port).status == 200


@pytest.mark.behaviour("vanishing_clients")
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


@pytest.mark.behaviour("vanishing_clients")
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
