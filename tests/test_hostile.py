"""Every stage against the hostile-input corpus (tests/corpus/*.cases).

Each case is sent on a connection of its own: all of its bytes, then a half-close. The server must
give the answer the RFCs call for, exactly once (one status line, a body of exactly its
Content-Length, nothing after it), close the connection, and still answer GET /hello with 200
afterwards. One server per stage and corpus file serves all of that file's cases, and a failing
case does not stop the others: the test reports every case that failed, by name.
"""

import os
import socket
import sys

import pytest

from conftest import connect, parse_response, request, show_in_report

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus"))
from corpus_cases import all_cases  # noqa: E402  (tests/corpus is not a package)

CASES = all_cases()
TOPICS = sorted({case.topic for case in CASES})


def send_case(port, raw):
    """Send `raw`, half-close, and read until the server closes. Returns (data, what went wrong)."""
    with connect(port, timeout=10) as sock:
        try:
            sock.sendall(raw)
            sock.shutdown(socket.SHUT_WR)  # the end of the request: truncated ones are finished now
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed early; its answer may still be readable
        data = b""
        try:
            while chunk := sock.recv(65536):
                data += chunk
        except ConnectionResetError:
            return data, "the connection was reset"
        except socket.timeout:
            return data, "the server did not close the connection within 10 s"
        return data, None


def check_answer(case, data, trouble):
    """What is wrong with `data` as the answer to `case`, or None."""
    if case.expect == "closed":
        if data or trouble:
            return f"expected a close without an answer, got {data[:100]!r} {trouble or ''}"
        return None
    if trouble:
        return f"{trouble} after {len(data)} bytes: {data[:100]!r}"
    try:
        response = parse_response(data)
    except AssertionError as e:
        return f"not one HTTP response: {e}"
    if response.status != case.status:
        return f"answered {response.status} {response.reason}, expected {case.status}: {response.body[:100]!r}"
    if "content-length" not in response.headers:
        return "the answer has no Content-Length"
    length = 0 if case.raw.startswith(b"HEAD ") else int(response.headers["content-length"])
    if len(response.body) != length:
        return (f"{len(response.body)} bytes after the header section where {length} were due: a second "
                f"answer, or a mis-framed one: {response.body[:160]!r}")
    return None


@pytest.mark.stages(first=1)  # the parser's corpus: whichever stage is being worked on
@pytest.mark.not_graded("checks the corpus itself")
def test_the_corpus_is_large_and_every_case_cites_its_rule():
    assert len(CASES) >= 60
    for case in CASES:
        assert "RFC" in case.why, f"{case.topic}.cases: {case.name} names no RFC section"


@pytest.mark.parametrize("topic", TOPICS)
@pytest.mark.behaviour("hostile_corpus")
def test_hostile_corpus(stage, servers, topic):
    server = servers(stage)
    failures = []
    for case in (c for c in CASES if c.topic == topic):
        problem = check_answer(case, *send_case(server.port, case.raw))
        if problem:
            if not failures:
                show_in_report()  # the first case that failed, not the GET /hello that follows it
            failures.append(f"{case.name}: {problem}")
        try:
            alive = request(server.port).status == 200
        except (OSError, AssertionError):
            alive = False
        if not alive or server.process.poll() is not None:
            failures.append(f"{case.name}: the server no longer answers GET /hello with 200")
            break
    assert not failures, f"{len(failures)} case(s) of {topic}.cases failed:\n" + "\n".join(failures)
