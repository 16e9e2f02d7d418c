"""Part 2 and later: apps loaded at run time, called through the gateway interface."""

import os
import re
import subprocess

import pytest

from conftest import ROOT, connect, exchange, parse_response, request

MISBEHAVING = "build/tests/misbehaving.so"


def environ_of(port, target="/", headers=None, body=b"", method="GET"):
    response = request(port, method=method, target=target, headers=headers, body=body)
    assert response.status == 200
    variables = {}
    for line in response.body.decode().splitlines():
        name, _, value = line.partition("=")
        variables[name] = value
    return variables


@pytest.mark.stages(first=2)
@pytest.mark.behaviour("environ")
def test_the_environ_app_shows_what_the_server_parsed(stage, servers):
    server = servers(stage, "part2/environ.so")
    with connect(server.port) as sock:
        raw = (f"POST /any/path%20here?x=1&y=2 HTTP/1.1\r\nHost: localhost:{server.port}\r\n"
               "X-Demo: yes\r\nx-demo: again\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n\r\n"
               "hello\nworld").encode()
        sock.sendall(raw)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
        client_port = sock.getsockname()[1]
    lines = parse_response(data).body.decode().splitlines()
    assert lines == sorted(lines), "environ is sorted by name"
    env = dict(line.split("=", 1) for line in lines)
    assert env["REQUEST_METHOD"] == "POST"
    assert env["PATH_INFO"] == "/any/path here"
    assert env["QUERY_STRING"] == "x=1&y=2"
    assert env["SCRIPT_NAME"] == ""
    assert env["SERVER_NAME"] == "localhost"
    assert env["SERVER_PORT"] == str(server.port)
    assert env["SERVER_PROTOCOL"] == "HTTP/1.1"
    assert env["REMOTE_ADDR"] == "127.0.0.1"
    assert env["REMOTE_PORT"] == str(client_port)
    assert env["HTTP_X_DEMO"] == "yes, again"
    assert env["CONTENT_TYPE"] == "text/plain"
    assert env["CONTENT_LENGTH"] == "11"
    assert "HTTP_CONTENT_TYPE" not in env and "HTTP_CONTENT_LENGTH" not in env
    assert env["gateway.input"] == "hello\\x0aworld"  # the environ app escapes line ends
    assert env["gateway.url_scheme"] == "http" and env["gateway.version"] == "1.0"
    assert env["gateway.multiprocess"] == ("true" if stage.forks else "false")


@pytest.mark.stages(first=2)
@pytest.mark.behaviour("apps")
def test_the_hello_app_as_a_shared_object_answers_as_the_built_in_one(stage, servers):
    built_in = servers(stage)
    loaded = servers(stage, "part2/hello.so")
    for target, method in [("/hello", "GET"), ("/nope", "GET"), ("/hello", "POST"), ("/hello", "HEAD")]:
        a = request(built_in.port, method=method, target=target)
        b = request(loaded.port, method=method, target=target)
        assert (a.status, a.body, a.headers.get("allow")) == (b.status, b.body, b.headers.get("allow"))
    assert "Loaded app 'hello' from part2/hello.so" in loaded.log()


@pytest.mark.stages(first=2)
@pytest.mark.behaviour("apps")
def test_the_framework_app_routes_and_answers_404_and_405_itself(stage, servers):
    server = servers(stage, "part2/greeter.so")
    greeting = request(server.port, target="/hello/Ada?lang=fr")
    assert greeting.status == 200
    assert greeting.headers["content-type"] == "application/json"
    assert greeting.body == b'{"greeting": "Bonjour, Ada !"}\n'
    assert request(server.port, target="/hello/Ada?lang=xx").status == 400
    echo = request(server.port, method="POST", target="/echo?k=v", body=b'{"note": "hi"}',
                   headers={"Content-Type": "application/json"})
    assert echo.body == (b'{"method": "POST", "path": "/echo", "query": {"k": "v"}, '
                         b'"content_type": "application/json", "body": "{\\"note\\": \\"hi\\"}"}\n')
    assert request(server.port, target="/no/route").status == 404
    not_allowed = request(server.port, method="DELETE", target="/echo")
    assert not_allowed.status == 405 and not_allowed.headers["allow"] == "POST"
    assert request(server.port, method="HEAD", target="/hello").body == b""


@pytest.mark.stages(first=2)
@pytest.mark.parametrize("symbol, fault", [
    ("never_starts", "write() before start_response"),
    ("starts_twice", "start_response called twice"),
    ("bad_status", "malformed status 'OK 200'"),
    ("status_1xx", "malformed status '100 Continue'"),
    ("crlf_header", "header X-Injected has a control byte (CR, LF, ...) in its value"),
    ("bad_header_name", "malformed header name 'Bad Name'"),
    ("hop_by_hop", "hop-by-hop header Transfer-Encoding is the server's"),
    ("wrong_length", "Content-Length 100 but a body of 5 bytes"),
    ("fails", "the app reported failure (returned 1)"),
    ("throws", "the app reported failure (returned -1)"),
])
@pytest.mark.behaviour("app_contract")
def test_every_contract_breach_is_a_500_and_a_log_line(stage, servers, symbol, fault):
    server = servers(stage, f"{MISBEHAVING}:{symbol}")
    for _ in range(2):  # the server goes on serving after each
        response = request(server.port)
        assert response.status == 500
        assert b"Set-Cookie" not in b"".join(f"{n}: {v}".encode() for n, v in response.header_list)
    server.wait_for_log("app fault: " + re.escape(fault) + "$", count=2)


@pytest.mark.stages(first=2)
@pytest.mark.behaviour("app_contract")
def test_an_app_error_message_reaches_the_log(stage, servers):
    server = servers(stage, f"{MISBEHAVING}:throws")
    assert request(server.port).status == 500
    server.wait_for_log(r"app error: database unreachable$")


@pytest.mark.stages(first=2)
@pytest.mark.parametrize("app, message", [
    ("no/such/app.so", "cannot load app: no/such/app.so: cannot open shared object file"),
    ("README.md", "cannot load app: ./README.md: invalid ELF header"),
    (f"{MISBEHAVING}:no_such_symbol", f"cannot load app: {MISBEHAVING} has no symbol 'no_such_symbol'"),
    (f"{MISBEHAVING}:future_abi", "was built for gateway ABI 2, this server speaks 1"),
    (f"{MISBEHAVING}:no_call", "has no call function"),
    (f"{MISBEHAVING}:", "APP must be path/to/app.so[:symbol]"),
    (f"{MISBEHAVING}:starts_twice extra", "takes no argument"),
    (f"{MISBEHAVING}:init_fails thing", f"app {MISBEHAVING}:init_fails failed to start: cannot use 'thing'"),
    (f"{MISBEHAVING}:init_ok one two", "unexpected argument 'two'"),
])
@pytest.mark.behaviour("app_contract")
def test_a_bad_app_is_a_one_line_error_and_exit_2_before_listening(stage, app, message):
    result = subprocess.run([os.path.join(ROOT, stage.binary), "--port", "0", *app.split()], cwd=ROOT,
                            capture_output=True, text=True, timeout=10)
    assert result.returncode == 2
    assert message in result.stderr
    if "unexpected argument" not in message:  # that one is followed by the usage
        assert len(result.stderr.strip().splitlines()) == 1
    assert "Serving HTTP" not in result.stdout


@pytest.mark.stages(first=2)
@pytest.mark.behaviour("apps")
def test_an_argument_after_app_goes_to_its_init(stage, servers):
    server = servers(stage, f"{MISBEHAVING}:init_ok", "an-argument")
    assert request(server.port).status == 200


@pytest.mark.stages(first=2)
@pytest.mark.behaviour("apps")
def test_malformed_requests_are_still_answered_by_the_server_not_the_app(stage, servers):
    server = servers(stage, "part2/environ.so")
    response = parse_response(exchange(server.port, b"GET / HTTP/1.1\r\nHost : x\r\n\r\n"))
    assert response.status == 400
    assert request(server.port).status == 200


@pytest.mark.stages(first=2)
@pytest.mark.behaviour("no_inherited_sockets")
def test_a_program_an_app_starts_inherits_none_of_the_servers_sockets(stage, servers):
    # The app runs `ls -l /proc/self/fd` and answers what that program found open. The server's
    # sockets (the listener, this connection) are close-on-exec, so the program sees none of them.
    server = servers(stage, "build/tests/runs_a_program.so")
    response = request(server.port, target="/")
    assert response.status == 200
    listing = response.body.decode()
    assert re.search(r" 1 -> ", listing), listing  # the listing is there: the program ran
    assert "socket:[" not in listing, f"the program inherited a socket:\n{listing}"
