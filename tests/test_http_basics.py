"""Part 1 and every later stage: an HTTP/1.1 request in, a correct response out."""

import email.utils
import http.client
import os
import re
import signal
import socket
import subprocess
import time

import pytest

from conftest import ROOT, connect, exchange, parse_response, request, start_server, stop_server


@pytest.mark.behaviour("hello")
def test_hello_over_a_raw_socket(server):
    data = exchange(server.port, f"GET /hello HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n\r\n".encode())
    assert data.startswith(b"HTTP/1.1 200 OK\r\n")
    assert data.endswith(b"\r\n\r\nHello, World!")


@pytest.mark.behaviour("hello")
def test_hello_with_http_client(server):
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    connection.request("GET", "/hello")
    response = connection.getresponse()
    assert (response.status, response.reason) == (200, "OK")
    assert response.read() == b"Hello, World!"
    assert response.getheader("Content-Type") == "text/plain; charset=utf-8"
    connection.close()


@pytest.mark.behaviour("response_headers")
def test_response_headers_are_present_and_correct(server):
    before = time.time()
    response = request(server.port)
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.headers["content-length"] == str(len(response.body)) == "13"
    assert response.headers["connection"] == "close"
    assert response.headers["server"]
    # Date is an IMF-fixdate (RFC 9110 5.6.7), in GMT, and it is now.
    assert re.fullmatch(r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT",
                        response.headers["date"])
    sent = email.utils.parsedate_to_datetime(response.headers["date"]).timestamp()
    assert before - 2 <= sent <= time.time() + 2


@pytest.mark.behaviour("routes_and_methods")
def test_unknown_path_is_404(server):
    response = request(server.port, target="/no/such/page")
    assert response.status == 404
    assert response.headers["content-length"] == str(len(response.body))


@pytest.mark.behaviour("routes_and_methods")
def test_other_methods_are_405_with_allow(server):
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        response = request(server.port, method=method, body=b"x=1")
        assert response.status == 405, method
        assert response.headers["allow"] == "GET, HEAD"


@pytest.mark.behaviour("routes_and_methods")
def test_head_has_the_headers_of_get_and_no_body(server):
    get = request(server.port)
    with connect(server.port) as sock:
        sock.sendall(f"HEAD /hello HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n\r\n".encode())
        data = b""
        while chunk := sock.recv(4096):
            data += chunk
    head = parse_response(data)
    assert head.status == 200
    assert head.body == b""
    assert head.headers["content-length"] == get.headers["content-length"]
    assert head.headers["content-type"] == get.headers["content-type"]


@pytest.mark.behaviour("routes_and_methods")
def test_http_1_0_is_answered_in_http_1_1(server):
    data = exchange(server.port, b"GET /hello HTTP/1.0\r\n\r\n")
    assert parse_response(data).status == 200


@pytest.mark.parametrize("raw, status", [
    (b"hello\r\n\r\n", 400),                                        # garbage typed by hand
    (b"GET /hello HTTP/1.1\r\n\r\n", 400),                          # no Host
    (b"GET /hello HTTP/1.1\r\nHost : x\r\n\r\n", 400),              # space before the colon
    (b"GET /hello HTTP/2.0\r\nHost: x\r\n\r\n", 505),
    (b"GET /hello HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
    (b"POST /hello HTTP/1.1\r\nHost: x\r\nContent-Length: 9999999999\r\n\r\n", 413),
    (b"GET /hello HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n", 431),
    (b"GET /hello HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501),
])
@pytest.mark.behaviour("malformed_requests")
def test_bad_requests_get_the_right_status_and_the_server_goes_on(server, raw, status):
    response = parse_response(exchange(server.port, raw))
    assert response.status == status
    assert response.body.startswith(f"{status} ".encode())
    assert request(server.port).status == 200


@pytest.mark.behaviour("hello")
def test_a_request_in_many_small_pieces(server):
    raw = f"GET /hello HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nUser-Agent: slow\r\n\r\n".encode()
    with connect(server.port) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for i in range(0, len(raw), 7):
            sock.sendall(raw[i:i + 7])
            time.sleep(0.01)
        data = b""
        while chunk := sock.recv(4096):
            data += chunk
    assert parse_response(data).body == b"Hello, World!"


@pytest.mark.behaviour("access_log")
def test_each_request_is_logged_on_one_line(server):
    with connect(server.port) as sock:
        sock.sendall(f"GET /hello?x=1 HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n\r\n".encode())
        while sock.recv(4096):
            pass
        client_port = sock.getsockname()[1]
    server.wait_for_log(rf'127\.0\.0\.1:{client_port} "GET /hello\?x=1 HTTP/1\.1" 200 13$')


@pytest.mark.stages(names=("part1", "part3-asio", "part6"))
@pytest.mark.behaviour("print_requests")
def test_print_requests_shows_each_request_as_it_came_with_its_line_ends(stage, servers):
    # As LSBAWS's first server printed every request it read. CR and LF are shown as \r and \n,
    # and any other byte that is not printable ASCII as \xHH: a request cannot write escape
    # sequences to the terminal that shows the log.
    server = servers(stage, "--print-requests")
    raw = b"GET /hello HTTP/1.1\r\nHost: x\r\nX-Color: \x1b[31mred\r\n\r\n"
    assert parse_response(exchange(server.port, raw)).status == 400  # a control byte in a field
    shown = server.wait_for_log(r"^127\.0\.0\.1:\d+ sent:$")
    expected = ["GET /hello HTTP/1.1\\r\\n", "Host: x\\r\\n", "X-Color: \\x1B[31mred\\r\\n", "\\r\\n"]
    lines = server.lines[server.lines.index(shown[0].string) + 1:][:4]
    assert lines == expected
    assert "\x1b" not in server.log()


@pytest.mark.stages(first=1, last=1)
@pytest.mark.behaviour("inspect")
def test_inspect_shows_the_parsed_request_and_the_url_parts(server):
    response = request(server.port, target="/inspect?x=1", headers={"X-Demo": "yes"})
    text = response.body.decode()
    assert response.status == 200
    assert "method   GET" in text and "target   /inspect?x=1" in text and "version  HTTP/1.1" in text
    assert "X-Demo: yes" in text
    assert "host     127.0.0.1" in text and f"port     {server.port}" in text
    assert "path     /inspect" in text and "query    x=1" in text


# ---- starting and stopping ------------------------------------------------------------------------

@pytest.mark.behaviour("command_line")
def test_help_and_bad_options(stage):
    binary = os.path.join(ROOT, stage.binary)
    shown = subprocess.run([binary, "--help"], capture_output=True, text=True, timeout=10)
    assert shown.returncode == 0 and "--port" in shown.stdout and "--host" in shown.stdout
    for bad in (["--port", "70000"], ["--port", "x"], ["--no-such-option"], ["--port"]):
        result = subprocess.run([binary, *bad], capture_output=True, text=True, timeout=10)
        assert result.returncode == 2, bad
        assert "usage:" in result.stderr


@pytest.mark.behaviour("start_and_stop")
def test_a_port_in_use_is_a_clear_error(stage, servers):
    running = servers(stage)
    result = subprocess.run([os.path.join(ROOT, stage.binary), "--port", str(running.port)],
                            capture_output=True, text=True, timeout=10)
    assert result.returncode == 1
    assert "bind: Address already in use" in result.stderr


def time_wait_entries(port):
    """Connections of the local `port` in TIME_WAIT (state 06 in /proc/net/tcp)."""
    with open("/proc/net/tcp") as f:
        rows = [line.split() for line in f.readlines()[1:]]
    return [r for r in rows if r[3] == "06" and int(r[1].split(":")[1], 16) == port]


@pytest.mark.behaviour("start_and_stop")
def test_restart_on_the_same_port_right_after_serving(stage):
    # The server closes first, so its side of the connection waits in TIME_WAIT; without
    # SO_REUSEADDR the next bind() to the port would fail with "Address already in use".
    first = start_server(stage)
    assert request(first.port).status == 200
    assert stop_server(first) == []
    if not time_wait_entries(first.port):
        # The kernel keeps at most net.ipv4.tcp_max_tw_buckets of them; past that it makes none.
        pytest.skip("the kernel made no TIME_WAIT entry (its table is full): nothing to show here")
    again = start_server(stage, "--port", str(first.port))
    try:
        assert request(again.port).status == 200
    finally:
        assert stop_server(again) == []


@pytest.mark.behaviour("start_and_stop")
def test_sigterm_stops_the_server_and_nothing_is_left_behind(stage):
    # Until Part 6 no stage catches SIGTERM: its default action ends the process at once, and the
    # kernel closes every descriptor. Part 6 catches it, shuts down cleanly and exits with 0.
    server = start_server(stage)
    assert request(server.port).status == 200
    started = time.monotonic()
    assert stop_server(server) == []  # and no child process left behind
    assert time.monotonic() - started < 2
    if stage.handles_stop:
        assert server.process.returncode == 0 and "Shutting down" in server.log()
    else:
        assert server.process.returncode == -signal.SIGTERM and "Shutting down" not in server.log()
    with pytest.raises(ConnectionRefusedError):
        connect(server.port, timeout=1.0)
