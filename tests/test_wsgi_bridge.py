"""The WSGI bridge (part2/wsgi.so): Python's frameworks and hand-written WSGI apps on the real
servers, from Part 2 on. Every framework app also runs inside wsgiref.validate.validator
(tests/wsgi/validated.py), so that a breach of PEP 3333 by the bridge or the server is a 500.

The hand-written apps are in tests/wsgi/plain.py, one per rule."""

import json
import os
import re
import subprocess

import pytest

from conftest import ROOT, exchange, parse_response, request

# The bridge is an app, the course's own: a learner's server is graded on the gateway by the C apps of
# tests/test_gateway.py, which cost a fraction of the time.
pytestmark = pytest.mark.not_graded("checks the WSGI bridge (part2/wsgi.so), an app, through the server")

WSGI = "part2/wsgi.so"

# What the bridge does is the same in every stage; these two run it without and with fork().
# The framework apps themselves run on every stage.
SOME_STAGES = ("part2", "part6")

# (test id, ARGUMENT naming the WSGI app)
FRAMEWORK_APPS = [
    ("flask", "part2_gateway/python/flaskapp:app"),
    ("django", "part2_gateway/python/djangoapp"),  # the callable defaults to `application`
    ("pyramid", "part2_gateway/python/pyramidapp:app"),
    ("flask-validated", "tests/wsgi/validated:flaskapp"),
    ("django-validated", "tests/wsgi/validated:djangoapp"),
    ("pyramid-validated", "tests/wsgi/validated:pyramidapp"),
]


@pytest.fixture(autouse=True)
def bridge_is_built():
    if not os.path.exists(os.path.join(ROOT, WSGI)):
        pytest.fail(f"{WSGI} is not built: it needs python3-dev (`make test` installs it and builds it)")


@pytest.fixture(autouse=True)
def no_zope_interface_leak_under_asan(monkeypatch):
    """Under `make test SANITIZE=1`, LeakSanitizer checks every server at exit, Python's objects
    included (the bridge makes Python allocate with malloc). zope.interface, which Pyramid uses,
    loses two strings when its C module is imported: plain python3 does the same (LD_PRELOAD=
    libasan.so PYTHONMALLOC=malloc python3 -c 'import zope.interface'). A suppression cannot
    single that out, as libpython has no frame pointers and ASan's stack of the leak stops in
    PyUnicode_New. So sanitized runs use zope.interface's pure-Python version, the same API;
    every other leak still fails the test."""
    with open(os.path.join(ROOT, WSGI), "rb") as so:
        if b"__asan_init" in so.read():
            monkeypatch.setenv("PURE_PYTHON", "1")


def app_errors(server):
    """What the app (or the bridge, for it) wrote to the log, one item per line."""
    return [m.group(1) for m in (re.match(r"app error: (.*)", line) for line in server.lines) if m]


def served(server, request_line, count=1):
    """Wait for the access-log line of a request: everything logged for it is then in the log."""
    server.wait_for_log(re.escape(f'"{request_line}"'), count=count)


# ---- real frameworks ------------------------------------------------------------------------

@pytest.mark.stages(first=2)
@pytest.mark.parametrize("spec", [spec for _, spec in FRAMEWORK_APPS],
                         ids=[name for name, _ in FRAMEWORK_APPS])
def test_a_framework_app_serves_its_routes_through_the_bridge(stage, servers, spec):
    server = servers(stage, WSGI, spec)

    hello = request(server.port, target="/hello")
    assert (hello.status, hello.body) == (200, b"Hello, World!")
    assert hello.headers["content-type"].lower().startswith("text/plain")

    # A path parameter, percent-encoded UTF-8 (PATH_INFO reaches Python as latin-1 text, which
    # the framework turns back into bytes and decodes), and a query parameter.
    greeting = request(server.port, target="/hello/Ren%C3%A9?greeting=Bonjour")
    assert (greeting.status, greeting.body.decode("utf-8")) == (200, "Bonjour, René!")

    # A form, which the framework reads from wsgi.input.
    echo = request(server.port, method="POST", target="/echo", body=b"note=hi+there&x=1",
                   headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert echo.status == 200 and echo.headers["content-type"] == "application/json"
    assert json.loads(echo.body) == {"note": "hi there", "x": "1"}

    # A path with no route: the framework's own 404 page, not the server's one-line error.
    missing = request(server.port, target="/nowhere")
    assert missing.status == 404
    assert not missing.body.startswith(b"404 Not Found: /nowhere")

    served(server, "GET /nowhere HTTP/1.1")
    assert app_errors(server) == []  # the validator, when there is one, found nothing to say
    assert "app fault" not in server.log()


@pytest.mark.stages(names=SOME_STAGES)
@pytest.mark.parametrize("spec", [
    pytest.param("part2_gateway/python/flaskapp:app", id="flask"),
    pytest.param("part2_gateway/python/djangoapp", id="django"),
    pytest.param("part2_gateway/python/pyramidapp:app", id="pyramid"),
])
def test_head_through_a_framework_gets_the_headers_of_get(stage, servers, spec):
    server = servers(stage, WSGI, spec)
    get = request(server.port, target="/hello")
    head = request(server.port, method="HEAD", target="/hello")
    assert head.status == 200 and head.body == b""
    assert head.headers["content-type"] == get.headers["content-type"]


# ---- the environ -----------------------------------------------------------------------------

@pytest.mark.stages(names=SOME_STAGES)
def test_the_environ_follows_pep_3333(stage, servers):
    server = servers(stage, WSGI, "tests/wsgi/plain:environ_types")
    raw = (f"POST /caf%C3%A9?q=1 HTTP/1.1\r\nHost: localhost:{server.port}\r\n"
           "X-Latin: caf\xe9\r\nContent-Type: text/plain\r\nContent-Length: 4\r\n\r\nbody").encode("latin-1")
    response = parse_response(exchange(server.port, raw))
    assert response.status == 200
    env = json.loads(response.body)

    # The CGI variables: str, each byte of the request one character (latin-1).
    cgi = {name: value for name, (kind, value) in env.items() if "." not in name}
    assert {kind for name, (kind, _) in env.items() if "." not in name} == {"str"}
    assert cgi["REQUEST_METHOD"] == "POST"
    assert cgi["PATH_INFO"] == "/caf\u00c3\u00a9"  # the bytes C3 A9, as two latin-1 characters
    assert cgi["QUERY_STRING"] == "q=1" and cgi["SCRIPT_NAME"] == ""
    assert cgi["HTTP_X_LATIN"] == "café"  # the byte E9
    assert (cgi["CONTENT_TYPE"], cgi["CONTENT_LENGTH"]) == ("text/plain", "4")
    assert (cgi["SERVER_NAME"], cgi["SERVER_PORT"]) == ("localhost", str(server.port))

    # The wsgi.* variables, in place of the gateway's own.
    assert env["wsgi.version"] == ["tuple", "(1, 0)"]
    assert env["wsgi.url_scheme"] == ["str", "http"]
    assert env["wsgi.input"][0] == "BytesIO"
    assert env["wsgi.multithread"] == ["bool", False]
    assert env["wsgi.multiprocess"] == ["bool", stage.forks]
    assert env["wsgi.run_once"] == ["bool", False]
    assert "write" in env["wsgi.errors"][1] and "flush" in env["wsgi.errors"][1]
    assert not [name for name in env if name.startswith("gateway.")]


@pytest.mark.stages(names=SOME_STAGES)
def test_wsgi_input_holds_the_body_byte_for_byte(stage, servers):
    server = servers(stage, WSGI, "tests/wsgi/plain:echo_input")
    every_byte = bytes(range(256)) * 4
    response = request(server.port, method="POST", target="/", body=every_byte)
    assert (response.status, response.body) == (200, every_byte)
    # A chunked body arrives decoded, with CONTENT_LENGTH set to its decoded length.
    chunked = (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
               b"5\r\nhello\r\n7\r\n, world\r\n0\r\n\r\n")
    response = parse_response(exchange(server.port, chunked))
    assert (response.status, response.body) == (200, b"hello, world")


# ---- start_response, write, the iterable ---------------------------------------------------

@pytest.mark.stages(names=SOME_STAGES)
@pytest.mark.parametrize("app", ["plain:uses_write", "validated:uses_write"])
def test_write_and_the_iterable_make_one_body_in_order(stage, servers, app):
    server = servers(stage, WSGI, f"tests/wsgi/{app}")
    response = request(server.port)
    assert (response.status, response.body) == (200, b"written, then returned")
    served(server, "GET /hello HTTP/1.1")
    assert app_errors(server) == []


@pytest.mark.stages(names=SOME_STAGES)
@pytest.mark.parametrize("app", ["plain:closing", "validated:closing"])
def test_close_is_called_after_the_body_and_after_a_failure(stage, servers, app):
    server = servers(stage, WSGI, f"tests/wsgi/{app}")
    complete = request(server.port, target="/complete")
    assert (complete.status, complete.body) == (200, b"first chunk, second chunk")
    served(server, "GET /complete HTTP/1.1")
    assert app_errors(server) == ["close() called for /complete"]

    failed = request(server.port, target="/fail")
    assert failed.status == 500  # the first chunk was never sent: the server had not sent a byte
    served(server, "GET /fail HTTP/1.1")
    errors = app_errors(server)
    assert "RuntimeError: the body failed halfway" in errors
    assert errors[-1] == "close() called for /fail"  # after the failure, as its last word
    assert "without being closed" not in server.log()  # the validator's complaint, if any


@pytest.mark.stages(names=SOME_STAGES)
@pytest.mark.parametrize("app", ["plain:exc_info_in_time", "validated:exc_info_in_time"])
def test_exc_info_before_the_body_replaces_status_and_headers(stage, servers, app):
    server = servers(stage, WSGI, f"tests/wsgi/{app}")
    response = request(server.port)
    assert (response.status, response.body) == (503, b"Sorry, try again later.")
    served(server, "GET /hello HTTP/1.1")
    assert app_errors(server) == []


@pytest.mark.stages(names=SOME_STAGES)
def test_exc_info_after_the_body_began_raises_the_error_again(stage, servers):
    server = servers(stage, WSGI, "tests/wsgi/plain:exc_info_too_late")
    response = request(server.port)
    assert response.status == 500 and b"half a page" not in response.body
    server.wait_for_log(r"app error: LookupError: failed halfway through the page$")
    # The traceback goes through the second start_response, which raised the error again.
    call = 'start_response("500 Internal Server Error", TEXT, sys.exc_info())'
    server.wait_for_log("app error:     " + re.escape(call) + "$")


@pytest.mark.stages(names=SOME_STAGES)
def test_a_python_exception_is_a_500_and_a_traceback_in_the_log(stage, servers):
    server = servers(stage, WSGI, "tests/wsgi/plain:raises")
    for _ in range(2):  # the server goes on serving
        assert request(server.port).status == 500
    served(server, "GET /hello HTTP/1.1", count=2)
    errors = app_errors(server)
    assert errors.count("Traceback (most recent call last):") == 2
    assert errors.count("ValueError: this app fails on purpose") == 2
    assert any(re.fullmatch(r'  File ".*/tests/wsgi/plain\.py", line \d+, in raises', e) for e in errors)
    server.wait_for_log(r"app fault: the app reported failure \(returned 1\)$", count=2)


@pytest.mark.stages(names=SOME_STAGES)
@pytest.mark.parametrize("app, message", [
    ("not_iterable", "TypeError: the app returned int, which is not iterable; "
                     "it must return an iterable of bytes"),
    ("returns_bytes", "TypeError: the app returned a bytes object; "
                      "it must return an iterable of bytes, such as [body]"),
    ("str_chunk", "TypeError: the app's iterable gave a str, not bytes (a body is bytes: encode text)"),
    ("no_start_response", "RuntimeError: the app gave body bytes before calling start_response"),
    ("starts_twice", "RuntimeError: start_response called a second time without exc_info"),
    ("header_not_latin1", "UnicodeEncodeError: 'latin-1' codec can't encode characters in position 0-1: "
                          "ordinal not in range(256)"),
], ids=["not_iterable", "returns_bytes", "str_chunk", "no_start_response", "starts_twice",
        "header_not_latin1"])
def test_a_breach_of_pep_3333_is_a_500_and_a_clear_log_line(stage, servers, app, message):
    server = servers(stage, WSGI, f"tests/wsgi/plain:{app}")
    for _ in range(2):  # the server goes on serving
        response = request(server.port)
        assert response.status == 500
    server.wait_for_log("app error: " + re.escape(message) + "$", count=2)


@pytest.mark.stages(names=SOME_STAGES)
def test_the_validator_is_awake(stage, servers):
    """What the bridge lets through but PEP 3333 forbids is a 500 inside the validator: the
    validated runs above would have failed had the bridge or the server broken a rule."""
    plain = servers(stage, WSGI, "tests/wsgi/plain:no_content_type")
    validated = servers(stage, WSGI, "tests/wsgi/validated:no_content_type")
    assert request(plain.port).status == 200
    assert request(validated.port).status == 500
    validated.wait_for_log(r"app error: AssertionError: No Content-Type header found in headers \(\[\]\)$")


@pytest.mark.stages(names=SOME_STAGES)
def test_wsgi_errors_writes_lines_to_the_log(stage, servers):
    server = servers(stage, WSGI, "tests/wsgi/plain:logs")
    assert request(server.port).body == b"logged"
    served(server, "GET /hello HTTP/1.1")
    assert app_errors(server) == ["first line", "second line", "third line, ", "printed to wsgi.errors",
                                  "unfinished at the end"]


@pytest.mark.stages(names=SOME_STAGES)
def test_a_start_response_kept_after_its_request_refuses_to_work(stage, servers):
    server = servers(stage, WSGI, "tests/wsgi/plain:keeps_start_response")
    assert request(server.port).body == b"nothing kept"
    later = request(server.port).body
    if stage.forks:  # the first request's process, and what it kept, are gone
        assert later == b"nothing kept"
    else:
        assert later == b"RuntimeError: the request this belongs to is over"


# ---- processes: stages 5 and 6 fork a child per connection after init() -------------------

@pytest.mark.stages(names=SOME_STAGES)
def test_python_is_prepared_for_each_forked_child(stage, servers):
    server = servers(stage, WSGI, "tests/wsgi/plain:process")
    answers = [json.loads(request(server.port).body) for _ in range(3)]
    assert {a["multiprocess"] for a in answers} == {stage.forks}
    # os.register_at_fork hooks ran in each child; random reseeded there, so no two children
    # draw the same number (without the hooks, each would start from the parent's state).
    assert len({a["random"] for a in answers}) == 3
    if stage.forks:
        assert len({a["pid"] for a in answers}) == 3 and server.pid not in {a["pid"] for a in answers}
        assert all(a["after_fork_hooks_ran"] for a in answers)
    else:
        assert {a["pid"] for a in answers} == {server.pid}
        assert not any(a["after_fork_hooks_ran"] for a in answers)


@pytest.mark.stages(names=SOME_STAGES)
def test_a_python_thread_of_the_app_does_not_hang_forked_children(stage, servers):
    """The app's own thread holds the GIL most of the time; a child forked at such a moment
    would wait for it for ever, unless the bridge took the GIL before the fork."""
    server = servers(stage, WSGI, "tests/wsgi/threaded:app")
    for _ in range(8):
        response = parse_response(exchange(server.port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", timeout=5))
        assert response.status == 200


@pytest.mark.stages(names=SOME_STAGES)
def test_an_app_may_fork_and_run_programs_itself(stage, servers):
    server = servers(stage, WSGI, "tests/wsgi/plain:spawns")
    for _ in range(3):
        response = parse_response(exchange(server.port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", timeout=5))
        assert (response.status, response.body) == (200, b"a subprocess ran; a forked child exited with 7")


# ---- loading: where the module is looked up, and what goes wrong ---------------------------

@pytest.mark.stages(names=SOME_STAGES)
@pytest.mark.parametrize("spec", [
    "tests/wsgi/plain:hello",     # DIR/MODULE:CALLABLE: DIR is searched first
    "tests/wsgi/plain.py:hello",  # a file name works too
    "tests.wsgi.plain:hello",     # MODULE alone is searched in the current directory (here ROOT)
])
def test_the_app_is_found_in_its_directory_or_the_current_one(stage, servers, spec):
    server = servers(stage, WSGI, spec)
    assert request(server.port).body == b"Hello, World!"


@pytest.mark.stages(names=SOME_STAGES)
def test_the_app_is_found_on_pythonpath(stage, servers, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", os.path.join(ROOT, "tests", "wsgi"))
    server = servers(stage, WSGI, "plain:hello")
    assert request(server.port).body == b"Hello, World!"


@pytest.mark.stages(names=SOME_STAGES)
@pytest.mark.parametrize("argument, message", [
    (None, "the WSGI bridge needs the app to serve: wsgi.so [DIR/]MODULE[:CALLABLE]"),
    (":app", "':app' is not [DIR/]MODULE[:CALLABLE]"),
    ("no_such_module:app", "cannot import no_such_module: ModuleNotFoundError: "
                           "No module named 'no_such_module' "
                           f"(searched {ROOT}, then PYTHONPATH and Python's own directories)"),
    ("tests/wsgi/broken:app", "cannot import broken: ModuleNotFoundError: No module named "
                              f"'a_module_nobody_installed' (at {ROOT}/tests/wsgi/broken.py:"),
    ("tests/wsgi/plain:no_such_app", "no WSGI app plain:no_such_app: AttributeError: module 'plain' has no "
                                     f"attribute 'no_such_app' (in {ROOT}/tests/wsgi/plain.py)"),
    ("tests/wsgi/plain:TEXT", "plain:TEXT is a list, not a callable WSGI app"),
], ids=["no-argument", "no-module", "no-such-module", "import-fails", "no-such-callable", "not-callable"])
def test_a_bad_wsgi_app_is_a_one_line_error_and_exit_2_before_listening(stage, argument, message):
    args = [os.path.join(ROOT, stage.binary), "--port", "0", WSGI] + ([argument] if argument else [])
    result = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert result.stderr.startswith(f"server: app {WSGI}:app failed to start: {message}")
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Serving HTTP" not in result.stdout
