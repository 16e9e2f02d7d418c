"""Part 3 and later: the socket sequence, the socket pair, the iterative server and its queue,
the Boost.Asio twin, and the load client."""

import os
import re
import shutil
import socket
import subprocess
import threading
import time

import pytest

from conftest import (ROOT, ALL_STAGES, connect, exchange, parse_response, read_until_closed, reap_strays, request,
                      wait_until)

CLIENT = os.path.join(ROOT, "part3/client")


@pytest.mark.stages(first=3)
@pytest.mark.behaviour("socket_calls")
def test_the_socket_calls_are_logged_in_order(stage, servers):
    server = servers(stage, "--backlog", "7")
    log = server.log()
    steps = [r"socket\(\)\s+-> descriptor \d+", r"setsockopt\(\) SO_REUSEADDR on",
             r"bind\(\)\s+127\.0\.0\.1:0", r"listen\(\)\s+backlog 7", r"Serving HTTP on 127\.0\.0\.1 port \d+"]
    positions = [re.search(step, log).start() for step in steps]
    assert positions == sorted(positions)


@pytest.mark.stages(first=3)
@pytest.mark.behaviour("socket_pair")
def test_the_socket_pair_logged_is_the_one_the_client_sees(stage, servers):
    server = servers(stage)
    with connect(server.port) as sock:
        sock.sendall(f"GET /hello HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n\r\n".encode())
        read_until_closed(sock)
        client_ip, client_port = sock.getsockname()
        server_ip, server_port = sock.getpeername()
    # The server's local end is the client's foreign end, and the other way round.
    server.wait_for_log(rf"socket pair \({re.escape(server_ip)}, {server_port}, "
                        rf"{re.escape(client_ip)}, {client_port}\)")
    assert server_port == server.port
    assert client_port != server.port  # an ephemeral port the client's kernel picked


def timed_fetch(port, results, index):
    """Fetch /hello, reading until the server closes; record when the fetch ended."""
    with connect(port, timeout=30) as sock:
        sock.sendall(f"GET /hello HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
        data = read_until_closed(sock)
    results[index] = (time.monotonic(), parse_response(data).status)


def fetch_all_at_once(port, count):
    results = [None] * count
    threads = [threading.Thread(target=timed_fetch, args=(port, results, i)) for i in range(count)]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return [(end - start, status) for end, status in results]


@pytest.mark.stages(first=3, last=4)
@pytest.mark.behaviour("iterative_delay")
def test_an_iterative_server_serves_one_client_at_a_time(stage, servers):
    server = servers(stage, "--delay", "0.5")
    results = fetch_all_at_once(server.port, 2)
    assert [status for _, status in results] == [200, 200]
    times = sorted(t for t, _ in results)
    # The first client ends after one delay, the second waited for it: about two delays in all.
    assert 0.45 <= times[0] < 0.95
    assert 0.95 <= times[1] < 2.5


def listen_queue_length(port):
    """The number of connections waiting to be accepted, as the kernel reports it in
    /proc/net/tcp: for a listening socket, the rx_queue column is its accept-queue length."""
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            local, state = fields[1], fields[3]
            if state == "0A" and int(local.split(":")[1], 16) == port:  # 0A: LISTEN
                return int(fields[4].split(":")[1], 16)
    raise AssertionError(f"no listening socket on port {port}")


@pytest.mark.stages(first=3, last=4)
@pytest.mark.behaviour("listen_queue")
def test_a_client_arriving_while_the_server_is_busy_waits_in_the_backlog(stage, servers):
    server = servers(stage)
    # Keep the server busy: a client that has sent half a request, which the server waits for.
    busy = connect(server.port)
    busy.sendall(f"GET /hello HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n".encode())
    server.wait_for_log(rf"socket pair \(127\.0\.0\.1, {server.port}, 127\.0\.0\.1, {busy.getsockname()[1]}\)")
    assert listen_queue_length(server.port) == 0
    waiting = connect(server.port)  # not refused: the kernel completes the connection...
    wait_until(lambda: listen_queue_length(server.port) == 1)  # ...and queues it until accept()
    busy.sendall(b"\r\n")  # the first request is complete: answered, and the next one accepted
    assert parse_response(read_until_closed(busy)).status == 200
    waiting.sendall(f"GET /hello HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n\r\n".encode())
    assert parse_response(read_until_closed(waiting)).status == 200
    assert listen_queue_length(server.port) == 0
    busy.close()
    waiting.close()


@pytest.mark.stages(first=3, last=3)
@pytest.mark.behaviour("asio_twin")
def test_asio_server_answers_as_the_raw_server_answer_for_answer(servers):
    raw_server = servers(next(s for s in ALL_STAGES if s.name == "part3"), "part2/greeter.so")
    asio_server = servers(next(s for s in ALL_STAGES if s.name == "part3-asio"), "part2/greeter.so")
    cases = [b"GET /hello HTTP/1.1\r\nHost: h\r\n\r\n", b"GET /hello/Ada?lang=es HTTP/1.1\r\nHost: h\r\n\r\n",
             b"POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nhi", b"DELETE /echo HTTP/1.1\r\nHost: h\r\n\r\n",
             b"GET /nope HTTP/1.1\r\nHost: h\r\n\r\n", b"HEAD /hello HTTP/1.1\r\nHost: h\r\n\r\n",
             b"GET / HTTP/1.1\r\n\r\n", b"GET / HTTP/3.0\r\nHost: h\r\n\r\n", b"junk\r\n\r\n"]
    for raw in cases:
        a = parse_response(exchange(raw_server.port, raw))
        b = parse_response(exchange(asio_server.port, raw))
        without_date = lambda r: [(n, v) for n, v in r.header_list if n.lower() != "date"]  # noqa: E731
        assert (a.status, a.reason, without_date(a), a.body) == (b.status, b.reason, without_date(b), b.body), raw
    for server in (raw_server, asio_server):  # every request logged (the log is read as it comes)
        server.wait_for_log(r'" \d{3} \d+$', count=len(cases))
    log_lines = lambda s: [re.sub(r"\d+", "N", l) for l in s.lines if "descriptor" not in l]  # noqa: E731
    assert log_lines(raw_server) == log_lines(asio_server)


def run_client(*args, timeout=60):
    result = subprocess.run([CLIENT, *args], capture_output=True, text=True, timeout=timeout)
    report = result.stdout
    counts = {
        "made": int(re.search(r"connections made\s+(\d+)", report).group(1)),
        "answers": int(re.search(r"answers read\s+(\d+)", report).group(1)),
        "statuses": {int(k): int(v) for k, v in re.findall(r"(\d{3}): (\d+)", report)},
        "errors": {k: int(v) for k, v in re.findall(r"(\w+) (\d+)", report.split("errors", 1)[1].split("\n")[0])},
    }
    return result.returncode, counts, report


@pytest.mark.stages(first=3)
@pytest.mark.behaviour("load_client")
def test_the_load_client_opens_every_connection_it_is_asked_for(stage, servers):
    server = servers(stage)
    code, counts, report = run_client("--port", str(server.port), "--max-clients", "4", "--max-conns", "5")
    assert code == 0, report
    assert counts["made"] == 20 and counts["answers"] == 20 and counts["statuses"] == {200: 20}
    assert sum(counts["errors"].values()) == 0
    server.wait_for_log(r'"GET /hello HTTP/1\.1" 200', count=20)
    assert len(re.findall(r'"GET /hello HTTP/1\.1" 200', server.log())) == 20


@pytest.mark.stages(first=3)  # the load client arrives with Part 3
@pytest.mark.not_graded("checks the load client, with no server")
def test_the_load_client_counts_refused_connections():
    with socket.socket() as placeholder:  # a port that nothing listens on
        placeholder.bind(("127.0.0.1", 0))
        port = placeholder.getsockname()[1]
    code, counts, report = run_client("--port", str(port), "--max-clients", "3", "--max-conns", "2")
    assert code == 1
    assert counts["made"] == 0 and counts["answers"] == 0
    assert counts["errors"]["refused"] == 6, report


@pytest.mark.stages(first=3, last=3)
@pytest.mark.behaviour("browser")
def test_a_browser_loads_hello_from_the_iterative_server(stage, servers, tmp_path):
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("chromium is not installed (Debian package chromium); .ci/run installs it")
    server = servers(stage)
    start = time.monotonic()
    result = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={tmp_path}", "--dump-dom", f"http://127.0.0.1:{server.port}/hello"],
        capture_output=True, text=True, timeout=60)
    elapsed = time.monotonic() - start
    reap_strays()  # chromium's helper processes, re-parented to pytest
    assert "Hello, World!" in result.stdout, result.stderr[-2000:]
    # A browser may open connections it never uses; they must not freeze the iterative server.
    assert request(server.port).status == 200
    print(f"chromium fetched /hello in {elapsed:.1f} s; server log:\n{server.log()}")
