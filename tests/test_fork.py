"""Part 5 and later: one child process per connection, and who must close which descriptor."""

import os
import resource
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time

import pytest

from conftest import (ALL_STAGES, NO_LEAK_CHECK, Stage, children_of, connect, cpu_seconds, fd_count,
                      read_one_response, request, start_server, stop_started_server, wait_until, zombie_children)
from test_descriptors import fds_page, table_rows
from test_sockets import fetch_all_at_once


def get_hello(sock, port):
    """Send GET /hello on `sock` and read exactly one answer."""
    sock.sendall(f"GET /hello HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
    return read_one_response(sock)


def child_of_request(server, client_port):
    """The (child PID, parent PID) the server logged for the connection from `client_port`."""
    found = server.wait_for_log(rf"child (\d+) \(parent (\d+)\) serving 127\.0\.0\.1:{client_port}$")[0]
    return int(found.group(1)), int(found.group(2))


DELAY = 0.3  # --delay for the two tests below: each connection is held this long after its answer


@pytest.mark.stages(first=5)
@pytest.mark.behaviour("concurrent")
def test_eight_clients_at_once_all_end_after_about_one_delay(stage, servers):
    server = servers(stage, "--delay", str(DELAY))
    results = fetch_all_at_once(server.port, 8)
    assert [status for _, status in results] == [200] * 8
    times = [t for t, _ in results]
    print(f"{stage.name}: 8 clients with --delay {DELAY} ended after {min(times):.2f} to {max(times):.2f} s")
    assert DELAY - 0.05 <= min(times) and max(times) < 4 * DELAY  # each child holds its own


@pytest.mark.stages(names=("part3",))
@pytest.mark.behaviour("iterative_delay")
def test_the_iterative_server_ends_the_same_clients_one_delay_after_another(servers):
    iterative = servers(next(s for s in ALL_STAGES if s.name == "part3"), "--delay", str(DELAY))
    results = fetch_all_at_once(iterative.port, 8)
    times = sorted(t for t, _ in results)
    print(f"part3: 8 clients with --delay {DELAY} ended after {times[0]:.2f} to {times[-1]:.2f} s")
    assert times[-1] >= 8 * DELAY - 0.1  # one after the other: eight delays


@pytest.mark.stages(first=5)
@pytest.mark.behaviour("child_per_connection")
def test_each_connection_is_served_by_a_child_of_the_server(stage, servers):
    server = servers(stage)
    children = []
    for _ in range(5):
        with connect(server.port) as sock:
            assert get_hello(sock, server.port).status == 200
            children.append(child_of_request(server, sock.getsockname()[1]))
    assert len({child for child, _ in children}) == 5  # a new process every time
    assert all(parent == server.pid for _, parent in children)
    assert server.pid not in {child for child, _ in children}


@pytest.mark.stages(first=5, last=5)
@pytest.mark.behaviour("zombies_pile_up")
def test_every_child_stays_a_zombie_since_nobody_waits_for_it(stage, servers):
    server = servers(stage)
    pids = []
    for _ in range(6):
        with connect(server.port) as sock:
            assert get_hello(sock, server.port).status == 200
            pids.append(child_of_request(server, sock.getsockname()[1])[0])
    zombies = wait_until(lambda: len(zombie_children(server.pid)) == 6 and zombie_children(server.pid))
    assert zombies == sorted(pids)
    # A demonstration: a zombie cannot be killed, it is already dead. SIGKILL changes nothing.
    os.kill(pids[0], signal.SIGKILL)
    time.sleep(0.1)
    assert zombie_children(server.pid) == sorted(pids)


@pytest.mark.stages(first=5)
@pytest.mark.behaviour("who_closes_what")
def test_fds_is_served_by_a_child_holding_only_the_client_socket(stage, servers):
    server = servers(stage)
    sock, page = fds_page(server.port)
    client_port = sock.getsockname()[1]
    sock.close()
    child, parent = child_of_request(server, client_port)
    assert f"Process {child}:" in page and parent == server.pid
    rows = table_rows(page)
    assert not [row for row in rows.values() if " LISTEN " in row]  # the child closed its copy
    assert [row for row in rows.values() if f"127.0.0.1:{client_port}" in row]


@pytest.mark.stages(first=5)
@pytest.mark.behaviour("who_closes_what")
def test_the_parent_keeps_only_the_listening_socket(stage, servers):
    server = servers(stage)
    before = fd_count(server.pid)
    for _ in range(20):
        assert request(server.port).status == 200
    assert fd_count(server.pid) == before


# ---- the demonstrations --------------------------------------------------------------------------

@pytest.mark.stages(first=5)
@pytest.mark.behaviour("parent_keeps_client")
def test_a_parent_that_keeps_its_copy_leaves_clients_without_an_end(stage):
    server = start_server(stage, "--parent-keeps-client")
    try:
        before = fd_count(server.pid)
        held = []
        for _ in range(5):
            sock = connect(server.port)
            assert get_hello(sock, server.port).status == 200  # the child answered...
            sock.settimeout(0.3)
            with pytest.raises(socket.timeout):
                sock.recv(1)  # ...but the connection does not end: the parent still holds it
            held.append(sock)
        assert fd_count(server.pid) == before + 5
        server.wait_for_log(r"keeps descriptor \d+ open \(--parent-keeps-client\)", count=5)
    finally:
        assert stop_started_server(server) == []
    for sock in held:  # the parent is gone: its copies are closed, the connections end
        assert sock.recv(1) == b""
        sock.close()


@pytest.mark.stages(first=5)
@pytest.mark.behaviour("parent_keeps_client")
def test_without_content_length_and_with_the_parent_keeping_its_copy_curl_itself_hangs(stage, servers):
    # Without Content-Length the body ends only where the connection does (RFC 9112 6.3, rule 8),
    # as LSBAWS's servers answered. Then a parent that keeps its copy of the client socket leaves
    # even curl waiting, with the whole answer in hand.
    def curl(server):
        started = time.monotonic()
        result = subprocess.run(["curl", "-s", "--max-time", "2", f"http://127.0.0.1:{server.port}/hello"],
                                capture_output=True, text=True, timeout=10)
        return result.returncode, result.stdout, time.monotonic() - started

    code, body, took = curl(servers(stage, "--no-content-length"))
    assert (code, body) == (0, "Hello, World!") and took < 1.5  # the child's close ends the body
    code, body, took = curl(servers(stage, "--parent-keeps-client"))
    assert (code, body) == (0, "Hello, World!") and took < 1.5  # curl counted the bytes
    code, body, took = curl(servers(stage, "--no-content-length", "--parent-keeps-client"))
    assert code == 28 and body == "Hello, World!"  # 28: the 2 s ran out, the answer in hand


def _low_nofile():
    resource.setrlimit(resource.RLIMIT_NOFILE, (32, 1024))


@pytest.mark.stages(first=5)
@pytest.mark.behaviour("parent_keeps_client")
def test_out_of_descriptors_the_server_backs_off_and_recovers(stage, servers):
    server = servers(stage, "--parent-keeps-client", preexec_fn=_low_nofile)
    # Leak descriptors until accept() has none left to give.
    for _ in range(40):
        sock = connect(server.port, timeout=1.0)
        try:
            get_hello(sock, server.port)
        except socket.timeout:
            waiting = sock  # connected (the kernel did that) but never accepted
            break
    else:
        pytest.fail("the server never ran out of descriptors")
    server.wait_for_log(r"accept: Too many open files$")
    before = cpu_seconds(server.pid)
    time.sleep(1.0)
    assert cpu_seconds(server.pid) - before < 0.3  # backing off, not spinning
    assert server.process.poll() is None
    # Raise the limit from outside: the queued connection is accepted and served.
    resource.prlimit(server.pid, resource.RLIMIT_NOFILE, (1024, 1024))
    waiting.settimeout(5.0)
    assert get_hello(waiting, server.port).status == 200
    waiting.close()


@pytest.mark.stages(first=5)
@pytest.mark.behaviour("child_keeps_listener")
def test_a_child_keeping_the_listener_keeps_the_port_open_after_the_parent_is_gone(stage):
    server = start_server(stage, "--child-keeps-listener", "--delay", "1.5")
    sock = connect(server.port)
    assert get_hello(sock, server.port).status == 200
    child, _ = child_of_request(server, sock.getsockname()[1])
    listening_inode = os.readlink(f"/proc/{server.pid}/fd/3")
    assert listening_inode in [os.readlink(f"/proc/{child}/fd/{fd}") for fd in os.listdir(f"/proc/{child}/fd")]
    # Kill the parent outright. (Stopping it cleanly would shut the listening socket down, and
    # shutdown() acts on the socket itself, whoever else holds a descriptor for it.)
    server.process.send_signal(signal.SIGKILL)
    server.process.wait()
    # The port still listens: connecting works, but nobody will ever accept.
    late = connect(server.port, timeout=1.0)
    late.sendall(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
    with pytest.raises(socket.timeout):
        late.recv(1)
    late.close()
    sock.close()
    # The child, orphaned (and re-parented to the test), ends after its delay, and the port with it.
    wait_until(lambda: children_of(os.getpid()).get(child) in (None, "Z"), timeout=10)
    problems = stop_started_server(server)
    assert problems[0] == "had already exited with status -9"
    orphan = f"left 1 child process(es) behind: [{child}]: 1 zombie(s), ended and never waited for"
    assert problems[1:] in ([], [orphan])  # the orphan made here, ended since
    with pytest.raises(ConnectionRefusedError):
        connect(server.port, timeout=1.0)


def _run_as_nobody_with_few_processes():
    resource.setrlimit(resource.RLIMIT_NPROC, (8, 8))


@pytest.mark.stages(first=5, last=5)
@pytest.mark.behaviour("zombies_pile_up")
def test_zombies_fill_the_process_table_and_fork_fails_with_503(stage, servers):
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv(1) to run the server as an ordinary user")
    if subprocess.run(["pgrep", "-u", "65534"], capture_output=True).returncode == 0:
        pytest.skip("user nobody already runs processes, which would count against the limit")
    # RLIMIT_NPROC (ulimit -u) does not bind root: run a copy of the server as nobody.
    folder = tempfile.mkdtemp()
    try:
        os.chmod(folder, 0o755)
        binary = os.path.join(folder, "server")
        shutil.copy(os.path.join(os.path.dirname(__file__), "..", stage.binary), binary)
        os.chmod(binary, 0o755 | stat.S_IXOTH)
        copy = Stage(stage.name, stage.number, os.path.relpath(binary, os.path.dirname(os.path.dirname(__file__))),
                     forks=True, leaves_zombies=True)
        server = servers(copy, preexec_fn=_run_as_nobody_with_few_processes, env=NO_LEAK_CHECK,
                         wrapper=("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"))
        statuses = [request(server.port).status for _ in range(10)]
        print(f"statuses: {statuses}; children: {children_of(server.pid)}")
        # The server itself is one process of the 8; each answered request leaves a child behind,
        # a zombie as soon as it has exited (the last may still be closing its socket just now).
        assert statuses[:7] == [200] * 7
        assert statuses[7:] == [503] * 3
        assert len(children_of(server.pid)) == 7
        wait_until(lambda: len(zombie_children(server.pid)) == 7, timeout=5)
        server.wait_for_log(r"fork: Resource temporarily unavailable$")
    finally:
        shutil.rmtree(folder)
