"""WSGI apps written by hand, without a framework: one per rule of PEP 3333 that the bridge
(part2/wsgi.so) must follow. tests/test_wsgi_bridge.py runs each through a real server:

    ./part2/server part2/wsgi.so tests/wsgi/plain:raises
"""
import json
import os
import random
import subprocess
import sys

TEXT = [("Content-Type", "text/plain; charset=utf-8")]


def hello(environ, start_response):
    start_response("200 OK", TEXT)
    return [b"Hello, World!"]


def environ_types(environ, start_response):
    """The environ as JSON: for each variable, its type and its value (repr for objects)."""
    described = {}
    for name, value in environ.items():
        shown = value if isinstance(value, (str, bool, int)) else repr(value)
        described[name] = [type(value).__name__, shown]
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps(described).encode()]


def echo_input(environ, start_response):
    """The request body read from wsgi.input, sent back as it came."""
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    start_response("200 OK", [("Content-Type", "application/octet-stream")])
    return [body]


def no_content_type(environ, start_response):
    """Allowed by the bridge and the server, but not by PEP 3333: a 200 must say what it holds."""
    start_response("200 OK", [])
    return [b"what is this?"]


def raises(environ, start_response):
    start_response("200 OK", TEXT)
    raise ValueError("this app fails on purpose")


def not_iterable(environ, start_response):
    start_response("200 OK", TEXT)
    return 42


def returns_bytes(environ, start_response):
    start_response("200 OK", TEXT)
    return b"a body, but not in an iterable"


def str_chunk(environ, start_response):
    start_response("200 OK", TEXT)
    return ["text where bytes belong"]


def no_start_response(environ, start_response):
    return [b"a body with no status"]


def starts_twice(environ, start_response):
    start_response("200 OK", TEXT)
    start_response("404 Not Found", TEXT)  # no exc_info: not allowed
    return [b"unreachable"]


def header_not_latin1(environ, start_response):
    start_response("200 OK", TEXT + [("X-Greeting", "\u4f60\u597d")])  # a header is latin-1 text
    return [b"unreachable"]


class Body:
    """An iterable body with a close(), which writes to wsgi.errors that it ran: PEP 3333 says
    the server must call it, whatever happens while the body is read."""

    def __init__(self, environ, fail_after_first):
        self.errors = environ["wsgi.errors"]
        self.path = environ["PATH_INFO"]
        self.fail_after_first = fail_after_first

    def __iter__(self):
        yield b"first chunk, "
        if self.fail_after_first:
            raise RuntimeError("the body failed halfway")
        yield b"second chunk"

    def close(self):
        self.errors.write(f"close() called for {self.path}\n")


def closing(environ, start_response):
    """/fail: the body raises after its first chunk; any other path: it completes."""
    start_response("200 OK", TEXT)
    return Body(environ, fail_after_first=environ["PATH_INFO"] == "/fail")


def uses_write(environ, start_response):
    write = start_response("200 OK", TEXT)
    write(b"written, ")
    write(b"")  # nothing: allowed
    return [b"then ", b"returned"]


def exc_info_in_time(environ, start_response):
    """An error after start_response but before any body: the app answers an error page instead."""
    start_response("200 OK", TEXT)
    try:
        raise LookupError("the page could not be built")
    except LookupError:
        start_response("503 Service Unavailable", TEXT, sys.exc_info())
    return [b"Sorry, try again later."]


def exc_info_too_late(environ, start_response):
    """The same error after the body has begun: start_response raises the error again."""
    write = start_response("200 OK", TEXT)
    write(b"half a page")
    try:
        raise LookupError("failed halfway through the page")
    except LookupError:
        start_response("500 Internal Server Error", TEXT, sys.exc_info())
    return [b"unreachable: start_response raised"]


def logs(environ, start_response):
    """wsgi.errors: lines go to the server's log, one log line each."""
    errors = environ["wsgi.errors"]
    errors.write("first line\nsecond ")
    errors.writelines(["line\n", "third line, "])
    errors.flush()
    print("printed", "to wsgi.errors", file=errors)
    errors.write("unfinished at the end")
    start_response("200 OK", TEXT)
    return [b"logged"]


kept = []  # start_response of an earlier request, kept by the app


def keeps_start_response(environ, start_response):
    """Calls the start_response kept from the previous request, which must refuse."""
    outcome = "nothing kept"
    if kept:
        try:
            kept[0]("200 OK", TEXT)
            outcome = "the old start_response worked"
        except RuntimeError as e:
            outcome = f"RuntimeError: {e}"
    kept[:] = [start_response]
    start_response("200 OK", TEXT)
    return [outcome.encode()]


def _remember_fork():
    global forked_into
    forked_into = os.getpid()


forked_into = None  # set in a child process by os.register_at_fork's hook
os.register_at_fork(after_in_child=_remember_fork)


def process(environ, start_response):
    """Which process serves the request, whether Python's after-fork hooks ran in it, and a
    random number (random reseeds itself in those hooks)."""
    answer = {
        "pid": os.getpid(),
        "after_fork_hooks_ran": forked_into == os.getpid(),
        "random": random.random(),
        "multiprocess": environ["wsgi.multiprocess"],
    }
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps(answer).encode()]


def spawns(environ, start_response):
    """Runs a program (subprocess) and forks (os.fork): forks made by Python code, which the
    bridge's own fork handling must leave to Python."""
    output = subprocess.run(["echo", "a subprocess ran"], capture_output=True, check=True).stdout
    pid = os.fork()
    if pid == 0:
        os._exit(7)
    _, status = os.waitpid(pid, 0)
    start_response("200 OK", TEXT)
    return [output.strip() + f"; a forked child exited with {os.waitstatus_to_exitcode(status)}".encode()]
