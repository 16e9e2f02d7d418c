"""Part 4 and later: the server's file descriptors, as /proc shows them and as it shows them."""

import os
import re
import shutil

import pytest

from conftest import connect, fd_count, read_one_response, request, start_server, stop_started_server


def fds_page(port):
    """GET /fds over a connection kept by the caller; returns (the socket, the page)."""
    sock = connect(port)
    sock.sendall(f"GET /fds HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
    return sock, read_one_response(sock).body.decode()


def table_rows(page):
    """{fd: the rest of its row} from the table of /fds."""
    rows = {}
    for line in page.split("\nfd   points to", 1)[1].splitlines()[1:]:
        fields = line.split(None, 1)
        rows[int(fields[0])] = fields[1]
    return rows


@pytest.mark.stages(first=4, last=4)
@pytest.mark.behaviour("fds_page")
def test_fds_lists_exactly_what_proc_shows_from_outside(stage, servers):
    server = servers(stage, "--delay", "1")  # the connection stays open while we look
    sock, page = fds_page(server.port)
    client_port = sock.getsockname()[1]
    outside = {int(fd): os.readlink(f"/proc/{server.pid}/fd/{fd}") for fd in os.listdir(f"/proc/{server.pid}/fd")}
    sock.close()
    rows = table_rows(page)
    assert sorted(rows) == sorted(outside)
    for fd, target in outside.items():
        assert rows[fd].split()[0] == target
    # 0, 1 and 2: stdin (/dev/null here), stdout and stderr (the pipe the test reads the log from).
    assert rows[0].startswith("/dev/null") and rows[1].startswith("pipe:[") and rows[2].startswith("pipe:[")
    listening = [row for row in rows.values() if " LISTEN " in row]
    assert len(listening) == 1 and f"127.0.0.1:{server.port} " in listening[0]
    serving = [row for row in rows.values() if f"127.0.0.1:{client_port}" in row]
    assert len(serving) == 1 and " ESTABLISHED " in serving[0] and f"127.0.0.1:{server.port} " in serving[0]


@pytest.mark.stages(first=4)
@pytest.mark.behaviour("fds_page")
def test_fds_shows_the_limit_and_the_backlog(stage, servers):
    server = servers(stage, "--backlog", "9")
    sock, page = fds_page(server.port)
    sock.close()
    soft, hard = (int(v) for v in re.search(r"RLIMIT_NOFILE, `ulimit -n`\): soft (\d+), hard (\d+)", page).groups())
    limits = open(f"/proc/{server.pid}/limits").read()
    assert re.search(rf"Max open files\s+{soft}\s+{hard}\s", limits)
    assert "Listen backlog: 9 asked for, 9 in effect" in page


@pytest.mark.stages(first=4, last=4)
@pytest.mark.behaviour("descriptor_log")
def test_the_server_logs_its_table_at_start_and_each_new_descriptor(stage, servers):
    server = servers(stage, "--delay", "1")
    assert re.search(r"\n3 +socket:\[\d+\] +LISTEN ", server.log())
    sock = connect(server.port)
    found = server.wait_for_log(r"new descriptor (\d+) -> (socket:\[\d+\])")[0]
    assert os.readlink(f"/proc/{server.pid}/fd/{found.group(1)}") == found.group(2)
    sock.close()


@pytest.mark.stages(first=4, last=4)
@pytest.mark.behaviour("no_descriptor_leak")
def test_no_descriptor_leaks_after_200_requests(stage, servers):
    server = servers(stage)
    assert request(server.port).status == 200
    baseline = fd_count(server.pid)
    for _ in range(200):
        assert request(server.port).status == 200
    assert fd_count(server.pid) == baseline


@pytest.mark.stages(first=4)
@pytest.mark.behaviour("without_proc")
def test_without_proc_the_table_says_so_and_the_server_goes_on(stage):
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("needs root and unshare(1) to run the server in a mount namespace without /proc")
    server = start_server(stage, wrapper=("unshare", "--mount", "--propagation", "private", "sh", "-c",
                                          'umount -l /proc && exec "$0" "$@"'))
    try:
        sock, page = fds_page(server.port)
        sock.close()
        assert "cannot read /proc/self/fd: No such file or directory (is /proc mounted?)" in page
        assert request(server.port).status == 200
    finally:
        problems = stop_started_server(server)
    if os.environ.get("SANITIZE") == "1" and stage.handles_stop:
        # Built with sanitizers, a server that exits (rather than dying of SIGTERM) checks itself
        # for leaks, and LeakSanitizer reads /proc to do it: that check fails (status 1) after the
        # server has shut down properly.
        assert "LeakSanitizer has encountered a fatal error" in server.log()
        problems.remove("exited with status 1 after SIGTERM")
    assert problems == []
