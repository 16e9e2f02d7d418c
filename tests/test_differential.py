"""Our parser against h11, an independent one: same inputs, compare verdicts (differential testing).

The inputs are the hostile corpus (tests/corpus), the fuzzers' seeds (tests/fuzz/make-seeds: today
the corpus cases themselves) and a few thousand generated requests (tests/differential). Our side
is build/parse_requests (tests/differential/parse_requests.cpp), RequestParser without a server;
the other is h11 (Debian's python3-h11), a Python HTTP/1.1 library written by other people from
the same RFCs. Each input is given whole to both, then the end of the stream, as a client that
sends its request and half-closes: a request still incomplete then is refused, as the servers
answer it 400 (RFC 9112 8) and h11 raises "peer unexpectedly closed connection".

Two verdicts agree when both refuse, or both accept the same request: the same method, target,
version, header fields (as h11 normalizes them, see `normalized_headers`), body, and the same
number of bytes after it. Every input where they differ is classified: `classify` names the
reason, and the reason must be a row of the table of deliberate differences in NOTES.md ("What
the servers defend against"). A disagreement with no reason, or with a reason not in the table,
fails; so does a row of the table that no input shows any more.

What h11 does (read in its source, h11 0.14: _readers.py, _receivebuffer.py, _abnf.py,
_headers.py, _connection.py), and why we differ where we do, is in the same chapter of NOTES.md.
"""

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import h11
import pytest

pytestmark = [pytest.mark.stages(first=1),  # the parser's check: Part 1's, and every later stage's
              pytest.mark.not_graded("checks common/'s parser, built alone (build/parse_requests)")]

from conftest import ROOT

sys.path.insert(0, os.path.join(ROOT, "tests", "corpus"))
sys.path.insert(0, os.path.join(ROOT, "tests", "differential"))
from corpus_cases import all_cases  # noqa: E402
from generated_requests import generated_requests  # noqa: E402

PARSE_REQUESTS = os.path.join(ROOT, "build", "parse_requests")
NOTES = os.path.join(ROOT, "NOTES.md")


@dataclass(frozen=True)
class Verdict:
    accepted: bool
    reason: str = ""          # why it was refused: our error detail, or h11's message
    status: int = 0           # ours only: the status we answer
    method: bytes = b""
    target: bytes = b""
    version: bytes = b""      # "1.1"
    headers: tuple = ()       # ((name as spelled, value), ...)
    body: bytes = b""
    excess: int = 0           # bytes after the request: where it ends

    def request(self):
        return (self.method, self.target, self.version, self.headers, self.body, self.excess)

    def __str__(self):
        if not self.accepted:
            return f"refused ({self.status or 'h11'}: {self.reason})"
        return (f"accepted {self.method!r} {self.target!r} HTTP/{self.version.decode()} "
                f"{list(self.headers)!r} body {self.body!r}, {self.excess} bytes after it")


@dataclass(frozen=True)
class Disagreement:
    raw: bytes
    ours: Verdict
    theirs: Verdict


def our_verdicts(inputs):
    """Every input through build/parse_requests, in one process."""
    stdin = b"".join(b"%d\n%s" % (len(raw), raw) for raw in inputs)
    run = subprocess.run([PARSE_REQUESTS], input=stdin, capture_output=True, timeout=60)
    assert run.returncode == 0, f"{PARSE_REQUESTS} failed: {run.stderr.decode(errors='replace')}"
    lines = run.stdout.decode("ascii").splitlines()
    assert len(lines) == len(inputs), f"{len(inputs)} inputs, {len(lines)} verdicts"
    return [our_verdict(json.loads(line)) for line in lines]


def as_bytes(text):
    """A string of parse_requests' output, where each character is one byte, as those bytes."""
    return text.encode("latin-1")


def our_verdict(out):
    """One line of parse_requests' output, decoded."""
    if out["verdict"] == "incomplete":
        return Verdict(False, "incomplete at the end of the stream", 400)
    if out["verdict"] == "refused":
        return Verdict(False, out["detail"], out["status"])
    return Verdict(True, method=as_bytes(out["method"]), target=as_bytes(out["target"]),
                   version=as_bytes(out["version"]).removeprefix(b"HTTP/"),
                   headers=normalized_headers(out["headers"]), body=as_bytes(out["body"]), excess=out["excess"])


def normalized_headers(headers):
    """Our fields in h11's form (h11/_headers.py): one Content-Length line holding one value, and
    Transfer-Encoding's value in lower case. Otherwise as received: names as spelled, in order."""
    out, seen_length = [], False
    for name, value in headers:
        name, value = as_bytes(name), as_bytes(value)
        if name.lower() == b"content-length":
            if seen_length:
                continue
            seen_length = True
            value = value.split(b",")[0].strip()
        elif name.lower() == b"transfer-encoding":
            value = value.lower()
        out.append((name, value))
    return tuple(out)


def h11_verdict(raw):
    """h11's verdict on `raw` followed by the end of the stream, as a server reading one request."""
    connection = h11.Connection(h11.SERVER)
    if raw:
        connection.receive_data(raw)
    connection.receive_data(b"")  # the end of the stream
    request, body = None, b""
    try:
        while True:
            event = connection.next_event()
            if isinstance(event, h11.Request):
                request = event
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                break
            elif isinstance(event, h11.ConnectionClosed):
                return Verdict(False, "closed before a request")
            else:
                raise AssertionError(f"h11 gave {event!r}, which this check does not expect")
    except h11.RemoteProtocolError as e:
        return Verdict(False, str(e))
    return Verdict(True, method=request.method, target=request.target, version=request.http_version,
                   headers=tuple(request.headers.raw_items()), body=body,
                   excess=len(connection.trailing_data[0]))


def agree(ours, theirs):
    if ours.accepted != theirs.accepted:
        return False
    return not ours.accepted or ours.request() == theirs.request()


# ---- the reasons for a disagreement --------------------------------------------------------------
# Each is a row of the table in NOTES.md. A reason is recognized from what each parser said (our
# error detail, h11's message) and from the input itself, so that a bug that makes our parser
# refuse good requests with a familiar message is not taken for a known difference.

def we_refused(d, *details):
    return not d.ours.accepted and d.theirs.accepted and any(x in d.ours.reason for x in details)


def h11_refused(d, *messages):
    return d.ours.accepted and not d.theirs.accepted and any(x in d.theirs.reason for x in messages)


def bare_lf(data):
    return re.search(rb"(?<!\r)\n", data) is not None


def body_of(raw):
    """What follows the head: after the first blank line, whether its lines end in CRLF or LF."""
    ends = [i + len(blank) for blank in (b"\r\n\r\n", b"\n\n") if (i := raw.find(blank)) >= 0]
    return raw[min(ends):] if ends else b""


def chunk_size_lines(body):
    """The chunk-size lines of a chunked body (7.1), each with what follows the digits, up to CRLF."""
    while (end := body.find(b"\r\n")) >= 0:
        line = body[:end]
        yield line
        digits = re.match(rb"[0-9a-fA-F]+", line)
        if not digits or int(digits.group(), 16) == 0:
            return
        body = body[end + 2 + int(digits.group(), 16) + 2:]


# chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] ) (RFC 9112 7.1.1)
TOKEN = rb"[-!#$%&'*+.^_`|~0-9A-Za-z]+"
QUOTED_STRING = rb'"(?:[\t !#-\[\]-~\x80-\xff]|\\[\t -~\x80-\xff])*"'
CHUNK_SIZE_LINE = re.compile(rb"[0-9a-fA-F]+(?:[ \t]*;[ \t]*%s(?:[ \t]*=[ \t]*(?:%s|%s))?)*"
                             % (TOKEN, TOKEN, QUOTED_STRING))
# uri-host [ ":" port ] (RFC 9110 7.2, RFC 3986 3.2.2)
URI_HOST = re.compile(rb"(?:(?:[-A-Za-z0-9._~!$&'()*+,;=]|%[0-9A-Fa-f]{2})+|\[[0-9A-Fa-f:.]+\])(?::[0-9]*)?")


def field(verdict, name):
    return [value for field_name, value in verdict.headers if field_name.lower() == name]


def content_lengths(raw):
    """Every element of every Content-Length line of the head, as sent."""
    head = raw.split(b"\r\n\r\n")[0]
    lines = re.findall(rb"\ncontent-length:([^\r\n]*)", head, re.I)
    return [element.strip() for line in lines for element in line.split(b",")]


REASONS = {
    "mixed-line-ends": lambda d:
        we_refused(d, "a head mixing CRLF and bare LF line ends") and b"\r\n" in d.raw and bare_lf(d.raw),
    "bare-lf-in-trailer-section": lambda d:
        we_refused(d, "bare LF in chunked framing") and bare_lf(body_of(d.raw)),
    "chunk-ext-grammar": lambda d:
        we_refused(d, "malformed chunk extension", "junk after chunk-size", "invalid byte in chunk-size line")
        and not all(CHUNK_SIZE_LINE.fullmatch(line) for line in chunk_size_lines(body_of(d.raw))),
    "chunk-ext-bws": lambda d:
        h11_refused(d, "illegal chunk header")
        and any(re.match(rb"[0-9a-fA-F]+[ \t]+;", line) for line in chunk_size_lines(body_of(d.raw))),
    "chunk-size-digits": lambda d:
        h11_refused(d, "illegal chunk header")
        and any(re.match(rb"[0-9a-fA-F]{21}", line) for line in chunk_size_lines(body_of(d.raw))),
    "empty-list-element": lambda d:
        h11_refused(d, "Only Transfer-Encoding: chunked is supported", "multiple Transfer-Encoding headers")
        and b"" in [coding.strip() for coding in b",".join(field(d.ours, b"transfer-encoding")).split(b",")],
    "content-length-equal-values": lambda d:
        h11_refused(d, "conflicting Content-Length headers")
        and len(set(content_lengths(d.raw))) > 1 and len({int(n) for n in content_lengths(d.raw)}) == 1,
    "empty-line-before-request-line": lambda d:
        h11_refused(d, "no request line received") and d.raw.startswith((b"\r\n", b"\n")),
    "obs-fold": lambda d:
        we_refused(d, "obsolete line folding", "malformed trailer field") and re.search(rb"\n[ \t]", d.raw),
    "control-byte-in-field": lambda d:
        we_refused(d, "invalid byte in header section") and re.search(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", d.raw),
    "request-target-form": lambda d:
        we_refused(d, "request-target must start with '/'", "malformed request-target",
                   "asterisk-form target is only for OPTIONS")
        and (not d.theirs.target.startswith(b"/") or b"#" in d.theirs.target),
    "connect": lambda d:
        we_refused(d, "CONNECT is not implemented") and d.theirs.method == b"CONNECT",
    "host-syntax": lambda d:
        we_refused(d, "malformed Host header", "malformed authority in absolute-form target")
        and not all(URI_HOST.fullmatch(host) for host in field(d.theirs, b"host")
                    + re.findall(rb"^https?://([^/?]*)", d.theirs.target, re.I)),
    "version-not-1-x": lambda d:
        we_refused(d, "only HTTP/1.x is spoken here") and not d.theirs.version.startswith(b"1."),
    "http-1-x-as-1-1": lambda d:
        we_refused(d, "HTTP/1.1 request without Host")
        and d.theirs.version.startswith(b"1.") and d.theirs.version not in (b"1.0", b"1.1"),
    "transfer-encoding-in-http-1-0": lambda d:
        we_refused(d, "Transfer-Encoding in an HTTP/1.0 request") and d.theirs.version == b"1.0",
    "content-length-and-transfer-encoding": lambda d:
        we_refused(d, "both Content-Length and Transfer-Encoding")
        and field(d.theirs, b"content-length") != [] and field(d.theirs, b"transfer-encoding") != [],
    "limits": lambda d:
        not d.ours.accepted and d.theirs.accepted and len(d.raw) > 1024
        and (d.ours.status in (413, 414, 431) or d.ours.reason.endswith(" too long")
             or d.ours.reason == "method longer than any this server implements"),
}


def classify(d):
    """The reason for a disagreement, or None if no reason fits."""
    return next((name for name, fits in REASONS.items() if fits(d)), None)


def listed_differences():
    """The ids of the table between the differential-table markers in NOTES.md."""
    with open(NOTES, encoding="utf-8") as f:
        notes = f.read()
    block = re.search(r"<!-- differential-table:begin -->\n(.*?)<!-- differential-table:end -->", notes,
                      re.DOTALL)
    assert block, "NOTES.md has no differential-table block"
    rows = [line for line in block.group(1).splitlines() if line.startswith("|")]
    assert len(rows) >= 3 and re.fullmatch(r"\|[-| ]+\|", rows[1]), "the block holds no markdown table"
    ids = {}
    for row in rows[2:]:
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        ids[cells[0].strip("`")] = cells
    return ids


# ---- the inputs and the comparison, done once for the tests below ---------------------------------

def seeds(directory):
    """The fuzzers' seeds, written by tests/fuzz/make-seeds as `make fuzz` does."""
    subprocess.run([sys.executable, os.path.join(ROOT, "tests", "fuzz", "make-seeds"), str(directory)],
                   check=True, capture_output=True)
    return [path.read_bytes() for path in sorted(Path(directory).iterdir())]


@dataclass
class Comparison:
    inputs: list
    both_accepted: int          # inputs both parsers accepted, as the same request
    disagreements: list         # of Disagreement
    by_reason: dict             # reason -> its disagreements; None for those no reason fits


@pytest.fixture(scope="module")
def comparison(tmp_path_factory):
    inputs = [case.raw for case in all_cases()] + seeds(tmp_path_factory.mktemp("seeds"))
    inputs = list(dict.fromkeys(inputs + generated_requests()))  # each once, in order
    both_accepted, disagreements, by_reason = 0, [], {}
    for raw, ours in zip(inputs, our_verdicts(inputs)):
        theirs = h11_verdict(raw)
        if agree(ours, theirs):
            both_accepted += ours.accepted
            continue
        d = Disagreement(raw, ours, theirs)
        disagreements.append(d)
        by_reason.setdefault(classify(d), []).append(d)
    return Comparison(inputs, both_accepted, disagreements, by_reason)


def describe(d):
    raw = repr(d.raw[:160]) + ("..." if len(d.raw) > 160 else "")
    return f"    {raw}\n      ours: {d.ours}\n      h11:  {d.theirs}"


def test_the_table_of_differences_gives_each_an_rfc_reason():
    listed = listed_differences()
    assert set(listed) == set(REASONS), (f"in NOTES.md only: {sorted(set(listed) - set(REASONS))}; "
                                         f"classified here only: {sorted(set(REASONS) - set(listed))}")
    for name, cells in listed.items():
        assert re.fullmatch(r"[a-z0-9-]+", name), f"{name}: an id is lower-case words joined by '-'"
        assert "RFC" in cells[-1], f"{name}: the last column names no RFC section"


def test_the_check_sees_both_parsers_at_work(comparison):
    # A check that cannot fail is no check: there must be plenty of inputs, many of them accepted
    # by both as the very same request, and disagreements to classify.
    assert len(comparison.inputs) >= 2000
    assert comparison.both_accepted >= 500
    assert len(comparison.disagreements) >= len(REASONS)


def test_every_disagreement_is_a_listed_difference(comparison):
    unexplained = comparison.by_reason.get(None, [])
    assert not unexplained, (f"{len(unexplained)} of {len(comparison.inputs)} inputs where our parser and h11 "
                             f"disagree for no listed reason (fix the parser, or classify the difference and "
                             f"list it in NOTES.md with its RFC reason):\n"
                             + "\n".join(map(describe, unexplained[:15])))


def test_no_listed_difference_is_stale(comparison):
    stale = sorted(set(listed_differences()) - set(comparison.by_reason))
    assert not stale, (f"listed in NOTES.md, shown by no input any more: {stale}. If the parsers now agree, "
                       f"drop the row and its reason; otherwise add an input that shows it.")
