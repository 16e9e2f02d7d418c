"""Requests for the differential check (tests/test_differential.py), generated: a few well-formed
requests, each changed one way at a time where parsers are known to part. Deterministic and
bounded (about 3,850), so that the check runs the same inputs every time, in well under a second.
"""

from dataclasses import dataclass, field, replace

CRLF = b"\r\n"


@dataclass
class Message:
    """A request as lines, so that any one line end can be swapped for another."""
    head: list                                # request line, fields, and the blank line (b"")
    chunks: list = field(default_factory=list)  # chunked framing: size lines and data, each then a line end
    body: bytes = b""                         # or a body, sent as it is
    ends: dict = field(default_factory=dict)  # line number -> its line end, where not CRLF

    def lines(self):
        return self.head + self.chunks

    def render(self):
        out = b"".join(line + self.ends.get(i, CRLF) for i, line in enumerate(self.lines()))
        return out + self.body


def chunked(*pieces):
    """The lines of a chunked body up to its last chunk: each piece of data after its size."""
    lines = []
    for piece in pieces:
        lines += [b"%x" % len(piece), piece]
    return lines


def bases():
    """The well-formed requests every mutation starts from."""
    return {
        "get": Message([b"GET /hello?x=1 HTTP/1.1", b"Host: example.com", b"Accept: */*", b""]),
        "content-length": Message([b"POST /submit HTTP/1.1", b"Host: example.com", b"Content-Length: 5", b""],
                                  body=b"hello"),
        "chunked": Message([b"POST /submit HTTP/1.1", b"Host: example.com", b"Transfer-Encoding: chunked", b""],
                           chunks=chunked(b"hello", b", world") + [b"0", b"X-Trailer: t", b""]),
        "http-1-0": Message([b"GET / HTTP/1.0", b"User-Agent: t", b""]),
    }


def line_ends():
    """Each line end of each base swapped for another; then heads of bare LFs with one CRLF."""
    for message in bases().values():
        count = len(message.lines())
        for i in range(count):
            for end in (b"\n", b"\r", b"\r\r\n", b"\n\r", b" \r\n", b"\t\n", b""):
                yield replace(message, ends={i: end}).render()
        head_lf = {i: b"\n" for i in range(len(message.head))}
        yield replace(message, ends=head_lf).render()
        yield replace(message, ends={i: b"\n" for i in range(count)}).render()
        for i in range(count):
            yield replace(message, ends={**head_lf, i: CRLF}).render()


def inserted_bytes():
    """A byte that often means something to a parser, inserted at every place in each head."""
    special = (b" ", b"\t", b"\x0b", b"\x0c", b"\x00", b"\x7f", b"\x80", b",", b";", b":", b'"', b"\\")
    for message in bases().values():
        text = message.render()
        head_end = len(b"".join(line + CRLF for line in message.head))
        for at in range(head_end):
            for byte in special:
                yield text[:at] + byte + text[at:]


def request_lines():
    """Methods, targets and versions, and every byte inside a target."""
    methods = (b"GET", b"get", b"OPTIONS", b"CONNECT", b"G@T", b"", b"M" * 40, b"GET\x00")
    targets = (b"/", b"*", b"/a#b", b"/a?b?c", b"http://h/", b"http://h:80/x?q", b"HTTP://H", b"https://[::1]/",
               b"http://u@h/", b"ftp://h/", b"//x", b"hello", b"h:80", b"/a%20b", b"/caf\xc3\xa9", b"/a\x7fb")
    versions = (b"HTTP/1.1", b"HTTP/1.0", b"HTTP/1.9", b"HTTP/2.0", b"HTTP/0.9", b"HTTP/1", b"HTTP/1.10",
                b"http/1.1", b"HTTP/ 1.1", b"HTTP/1.1 ", b"HTTP /1.1", b"")
    host = b"Host: h\r\n\r\n"
    for method in methods:
        for target in targets:
            yield method + b" " + target + b" HTTP/1.1\r\n" + host
    for version in versions:
        yield b"GET / " + version + b"\r\n" + host
        yield b"GET / " + version + b"\r\n\r\n"
    for byte in range(256):
        yield b"GET /a" + bytes([byte]) + b"b HTTP/1.1\r\n" + host


def fields():
    """Field names of every kind; every byte inside a value; whitespace around a value."""
    names = (b"X-A", b"x_a", b"X A", b"X(A)", b'X"A', b"X/A", b"X@A", b"X\xe9", b"", b" X", b"X ", b"X\t", b"\tX",
             b"X:Y", b"!#$%&'*+-.^_`|~09azAZ", b"X\x00", b"X\x7f", b"X[A]", b"X{A}", b"X;A", b"X,A", b"X=A")
    for name in names:
        yield b"GET / HTTP/1.1\r\nHost: h\r\n" + name + b": v\r\n\r\n"
    for byte in range(256):
        yield b"GET / HTTP/1.1\r\nHost: h\r\nX-V: a" + bytes([byte]) + b"b\r\n\r\n"
    for value in (b"", b" ", b"\t", b" a ", b"\ta\t", b"a  b", b"a\t\tb", b" \t a \t ", b"\x80", b"a\xffb"):
        yield b"GET / HTTP/1.1\r\nHost: h\r\nX-V:" + value + b"\r\n\r\n"
    for host in (b"h", b"h:80", b"h:", b":80", b"[::1]", b"[::1", b"h/x", b"u@h", b"h h", b"", b"h, h", b"h:x"):
        yield b"GET / HTTP/1.1\r\nHost: " + host + b"\r\n\r\n"
    yield b"GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n"
    yield b"GET / HTTP/1.1\r\nX-A: 1\r\n folded\r\nHost: h\r\n\r\n"
    yield b"GET / HTTP/1.1\r\n Host: h\r\n\r\n"


def chunk_lines():
    """Chunk sizes and extensions, last chunks and trailers, each in an otherwise good body."""
    head = b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
    sizes = (b"5", b"05", b"0" * 24 + b"5", b"5 ", b" 5", b"5\t", b"+5", b"-5", b"0x5", b"5.0", b"5_", b"5;",
             b"0000000000000005", b"10000000000000005", b"ffffffffffffffff5")
    exts = (b";a", b";a=b", b" ;a", b"\t;a", b"; a", b";a =b", b";a= b", b" ; a = b ", b";a=b ", b";a ", b";",
            b"; ", b";=b", b";a=", b";a=b c", b";a;b", b";a=b;c=d", b";a=\"x\"", b";a=\"\"", b";a=\"x y\"",
            b";a=\"x", b";a=\"x\\\"y\"", b";a=\"x\\\"", b";a=\"x\"y", b";a=x\"y\"", b";a=\"\\\x80\"", b";a=@",
            b";a=\x80", b";\x80", b";a=b,c", b";a\x00", b";a=\"\x01\"", b";a=\"\x7f\"", b" ", b"\t", b"x")
    for size in sizes:
        yield head + size + b"\r\nhello\r\n0\r\n\r\n"
    for ext in exts:
        yield head + b"5" + ext + b"\r\nhello\r\n0\r\n\r\n"
        yield head + b"5\r\nhello\r\n0" + ext + b"\r\n\r\n"
    for last in (b"00", b"0" * 25, b"0 ", b"0;", b"00;a=b"):
        yield head + b"5\r\nhello\r\n" + last + b"\r\n\r\n"
    trailers = (b"X: t", b"X : t", b" X: t", b"X", b": t", b"X: a\x01b", b"Content-Length: 5", b"X:",
                b"X: t\r\n folded", b"X(Y): t", b"Transfer-Encoding: chunked")
    for trailer in trailers:
        yield head + b"5\r\nhello\r\n0\r\n" + trailer + b"\r\n\r\n"
    for data_end in (b"", b"\r", b"\n", b"X\r\n", b"\r\n\r\n"):
        yield head + b"5\r\nhello" + data_end + b"0\r\n\r\n"


def framing():
    """Content-Length and Transfer-Encoding, alone, together, repeated, in HTTP/1.1 and 1.0."""
    lengths = (b"5", b"05", b"5, 5", b"5,5", b"5, 6", b"", b" ", b"+5", b"-5", b"5.0", b"0x5", b"1 2", b"5,", b",5",
               b"5,,5", b"05, 5", b"99999999999999999999999", b"18446744073709551616", b"1048577", b"1048576")
    codings = (b"chunked", b"CHUNKED", b"gzip, chunked", b"chunked, gzip", b"chunked, chunked", b",chunked",
               b"chunked,", b"identity", b"", b"chunked;q=1", b"xchunked", b"chunked , ", b"\"chunked\"")
    chunked_body = b"5\r\nhello\r\n0\r\n\r\n"
    for version in (b"HTTP/1.1", b"HTTP/1.0"):
        start = b"POST / " + version + b"\r\nHost: h\r\n"
        for length in lengths:
            yield start + b"Content-Length: " + length + b"\r\n\r\nhello"
            yield start + b"Content-Length: 5\r\nContent-Length: " + length + b"\r\n\r\nhello"
        for coding in codings:
            yield start + b"Transfer-Encoding: " + coding + b"\r\n\r\n" + chunked_body
            yield start + b"Transfer-Encoding: " + coding + b"\r\nContent-Length: 5\r\n\r\n" + chunked_body
            yield start + b"Content-Length: 5\r\nTransfer-Encoding: " + coding + b"\r\n\r\n" + chunked_body
            yield start + b"Transfer-Encoding: chunked\r\nTransfer-Encoding: " + coding + b"\r\n\r\n" + chunked_body


def pipelined():
    """Each base followed by a second request: where the first one ends is what is compared."""
    for message in bases().values():
        yield message.render() + b"GET /second HTTP/1.1\r\nHost: h\r\n\r\n"


def generated_requests():
    """Every generated request, each once, in a fixed order."""
    seen = {}
    for source in (line_ends, inserted_bytes, request_lines, fields, chunk_lines, framing, pipelined):
        for raw in source():
            seen.setdefault(raw, None)
    return list(seen)
