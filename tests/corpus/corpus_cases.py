"""Reading the hostile-input corpus: tests/corpus/*.cases (the format is in README.md there)."""

import os
import re
from dataclasses import dataclass

CORPUS_DIR = os.path.dirname(os.path.abspath(__file__))


@dataclass
class Case:
    name: str
    topic: str        # the file's name without .cases
    line: int         # where the case starts, for error messages
    raw: bytes = b""  # what the client sends
    expect: str = ""  # "200", "400", ... or "closed"
    why: str = ""     # its comment lines: the rule and its RFC section

    @property
    def status(self):
        return None if self.expect == "closed" else int(self.expect)


_ESCAPE = re.compile(rb"\\(x[0-9a-fA-F]{2}|[rnt0\\])")
_SIMPLE = {b"r": b"\r", b"n": b"\n", b"t": b"\t", b"0": b"\0", b"\\": b"\\"}


def unescape(text, where):
    """The bytes of TEXT with its escapes decoded; a backslash starting no escape is an error."""
    data = text.encode("utf-8")
    if b"\\" in _ESCAPE.sub(b"", data):
        raise ValueError(f"{where}: a backslash that starts no escape (write \\\\ for one)")
    return _ESCAPE.sub(lambda m: _SIMPLE.get(m.group(1)) or bytes([int(m.group(1)[1:], 16)]), data)


def read_cases(path):
    """The cases of one .cases file, in order."""
    topic = os.path.basename(path)[:-len(".cases")]
    cases = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            line = line.rstrip("\n")
            where = f"{os.path.basename(path)}:{number}"
            keyword, _, rest = line.partition(" ")
            if line.startswith("#") and cases and not cases[-1].raw and not cases[-1].expect:
                cases[-1].why += line.lstrip("# ") + "\n"
                continue
            if not line.strip() or line.startswith("#"):
                continue
            if keyword == "case":
                cases.append(Case(rest.strip(), topic, number))
                continue
            if not cases:
                raise ValueError(f"{where}: {keyword!r} before the first case")
            case = cases[-1]
            if keyword == "send":
                case.raw += unescape(rest, where)
            elif keyword == "repeat":
                count, _, text = rest.partition(" ")
                case.raw += unescape(text, where) * int(count)
            elif keyword == "expect" and re.fullmatch(r"[1-5]\d\d|closed", rest):
                case.expect = rest
            else:
                raise ValueError(f"{where}: cannot read {line!r}")
    for case in cases:
        if not case.expect:
            raise ValueError(f"{topic}.cases:{case.line}: case {case.name} has no expect line")
    return cases


def corpus_files():
    return sorted(os.path.join(CORPUS_DIR, name) for name in os.listdir(CORPUS_DIR) if name.endswith(".cases"))


def all_cases():
    """Every case of the corpus; names must be unique."""
    cases = [case for path in corpus_files() for case in read_cases(path)]
    seen = {}
    for case in cases:
        if case.name in seen:
            raise ValueError(f"case {case.name} is in both {seen[case.name]} and {case.topic}")
        seen[case.name] = case.topic
    return cases
