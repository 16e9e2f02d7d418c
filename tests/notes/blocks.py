"""The code blocks of a markdown text, their markers, and how expected output is matched.

Nothing here runs a command: check_notes.py does, and uses what this module reads. A code block is
what a CommonMark renderer shows as one (markdown-it reads the text), indented or fenced, inside
a list or not. Its marker is an HTML comment right before it, which the rendered page hides:

    <!-- check -->                        a transcript, run and compared
    <!-- check; server: ./part1/server; do: curl -s localhost:8888/hello; log -->
    <!-- manual: a browser window -->     not checkable, for the reason given
    <!-- quote: part1_basic_http/server.cpp -->
    <!-- figure -->
"""

import re
from dataclasses import dataclass, field

from markdown_it import MarkdownIt

KINDS = ("check", "manual", "quote", "figure")
# Options of `check` that take a value, and those that are a word alone.
VALUED = ("server", "do", "varies", "timeout")
FLAGS = ("log", "unordered", "fresh")
DEFAULT_TIMEOUT = 30.0


class MarkerError(Exception):
    """A marker that cannot be understood; the block it stands before fails with this message."""


@dataclass
class Block:
    line: int          # of the block's first line (a fence's opening line), counted from 1
    section: str       # "Part 1: basic HTTP > Experiments"
    text: str          # the block's content, indentation removed
    kind: str = None   # one of KINDS; None: no marker
    reason: str = ""   # manual: why not; quote: the file
    servers: list = field(default_factory=list)
    hidden: list = field(default_factory=list)   # the do: commands
    varies: list = field(default_factory=list)   # Vary objects
    log: bool = False
    unordered: bool = False
    fresh: bool = False
    timeout: float = DEFAULT_TIMEOUT
    steps: list = field(default_factory=list)    # a transcript's Steps
    error: str = ""    # what is wrong with the marker, or its absence

    @property
    def name(self):
        return f"{self.section}, line {self.line}" if self.section else f"line {self.line}"


# ---- reading the text -----------------------------------------------------------------------------

# An HTML block that is one comment, opening with a marker's word.
MARKER = re.compile(rf"\s*<!--\s*({'|'.join(KINDS)})\b(.*?)-->\s*", re.DOTALL)


def read_blocks(text):
    """Every code block of a markdown text, with its marker read, in the order of the text. A
    marker that no code block follows comes back as a block of its own that fails."""
    tokens = MarkdownIt("commonmark").parse(text)
    headings = {}  # level -> heading text
    blocks = []
    pending = None  # (line, match) of a marker waiting for its block
    for i, token in enumerate(tokens):
        if token.type == "heading_open":
            level = int(token.tag[1])
            headings = {lv: t for lv, t in headings.items() if lv < level}
            headings[level] = tokens[i + 1].content.replace("`", "")
            continue
        if token.type in ("code_block", "fence"):
            block = Block(token.map[0] + 1, section_name(headings), token.content)
            if pending:
                apply_marker(block, pending[1])
                pending = None
            else:
                block.error = ("a code block with no marker before it (<!-- check -->, "
                               "<!-- manual: REASON -->, <!-- quote: FILE -->, <!-- figure -->)")
            blocks.append(block)
            continue
        if pending and token.nesting >= 0:
            blocks.append(stray_marker(pending, headings))
            pending = None
        if token.type == "html_block":
            m = MARKER.fullmatch(token.content)
            if m:
                pending = (token.map[0] + 1, m)
    if pending:
        blocks.append(stray_marker(pending, headings))
    return blocks


def stray_marker(pending, headings):
    line, marker = pending
    return Block(line, section_name(headings), "",
                 error=f"a marker with no code block after it: {marker.group(0).strip()}")


def section_name(headings):
    """The chapter (level 2, without its parenthesis) and the innermost heading below it."""
    chapter = re.sub(r"\s*\([^)]*\)$", "", headings.get(2, headings.get(1, "")))
    deeper = [headings[lv] for lv in sorted(headings) if lv > 2]
    return " > ".join(filter(None, [chapter, deeper[-1] if deeper else ""]))


# ---- markers --------------------------------------------------------------------------------------

def apply_marker(block, marker):
    """Read a marker's words into the block; a mistake becomes the block's error."""
    block.kind = marker.group(1)
    try:
        parse_options(block, marker.group(2).replace("\n", " ").strip())  # a marker may span lines
    except MarkerError as e:
        block.error = f"{marker.group(0).strip()}: {e}"


def parse_options(block, rest):
    if block.kind in ("manual", "quote"):
        what = "a reason" if block.kind == "manual" else "a file"
        if not rest.startswith(":") or not rest[1:].strip():
            raise MarkerError(f"say `{block.kind}: ` and {what}")
        block.reason = rest[1:].strip()
    elif block.kind == "figure":
        if rest:
            raise MarkerError("`figure` takes nothing after it")
    else:
        if rest and not rest.startswith(";"):
            raise MarkerError("options come after `check;`, separated by `;`")
        for name, value in check_options(rest[1:]):
            apply_option(block, name, value)
        if block.log and not block.servers:
            raise MarkerError("`log` compares a server's output: it needs a `server:`")
        if not block.log:
            block.steps = read_transcript(block.text)


def check_options(rest):
    """[(name, value)] of `server: CMD; log; ...`. A command may hold a `;` of its own: a piece
    that does not begin with an option's name goes on the command before it."""
    options = []
    for piece in rest.split(";") if rest else []:
        name, colon, value = piece.partition(":")
        name = name.strip()
        if colon and name in VALUED:
            options.append([name, value.strip()])
        elif not colon and name in FLAGS:
            options.append([name, ""])
        elif options and options[-1][0] in ("server", "do"):
            options[-1][1] += ";" + piece
        else:
            raise MarkerError(f"unknown option {piece.strip()!r}: options are "
                              + ", ".join([f"{n}:" for n in VALUED] + list(FLAGS)))
    return options


def apply_option(block, name, value):
    if name in VALUED and not value:
        raise MarkerError(f"`{name}:` needs a value")
    if name == "server":
        block.servers.append(value)
    elif name == "do":
        block.hidden.append(value)
    elif name == "varies":
        block.varies += [Vary.parse(token) for token in value.split()]
    elif name == "timeout":
        try:
            block.timeout = float(value)
        except ValueError:
            raise MarkerError(f"`timeout:` takes a number of seconds, not {value!r}") from None
    else:
        setattr(block, name, True)


# ---- transcripts ----------------------------------------------------------------------------------

@dataclass
class Step:
    command: str     # as bash is to read it: continued lines keep their backslash and newline
    shown: list      # the command's lines as the text shows them, prompt included
    expected: list   # the lines of output the text shows after it


HEREDOC = re.compile(r"<<-?\s*(['\"]?)(\w+)\1")


def read_transcript(text):
    """The steps of a transcript block: `$ COMMAND` lines, each followed by its output. A command
    goes on over the next line after a trailing backslash, and over the lines of a here-document
    (`cat > file <<'END'` ... `END`), which are what the reader types, not output."""
    steps = []
    continued = False
    heredoc = None  # the word that ends the here-document being read
    for line in text.splitlines():
        if continued or heredoc:
            steps[-1].command += "\n" + line
            steps[-1].shown.append(line)
            if heredoc and line == heredoc:
                heredoc = None
        elif line.startswith("$ "):
            steps.append(Step(line[2:], [line], []))
            found = HEREDOC.search(line)
            heredoc = found.group(2) if found else None
        elif steps:
            steps[-1].expected.append(line)
        elif line.strip():
            raise MarkerError(f"a transcript begins with a `$ ` command, not {line!r}")
        continued = bool(steps) and not steps[-1].expected and not heredoc and line.endswith("\\")
    if heredoc:
        raise MarkerError(f"a here-document that never ends: no line {heredoc!r}")
    if not steps:
        raise MarkerError("a transcript with no `$ ` command")
    return steps


# ---- matching -------------------------------------------------------------------------------------

@dataclass
class Vary:
    """A token of the expected text that varies from run to run: what stands in for it."""
    token: str
    pattern: str            # what it matches in the output
    low: int = None         # TOKEN=LO-HI: the number's range
    high: int = None

    @staticmethod
    def parse(word):
        token, equals, bounds = word.partition("=")
        if equals:
            m = re.fullmatch(r"(\d+)-(\d+)", bounds)
            if not m or not token.isdigit():
                raise MarkerError(f"`varies: {word}`: a range is NUMBER=LOW-HIGH")
            return Vary(token, r"\d+", int(m.group(1)), int(m.group(2)))
        if word.isdigit():
            return Vary(word, r"\d+")
        # Hex in the case the text shows it: /proc/net/tcp writes 0100007F:22B8, ls -i 6a3f.
        for digits in ("[0-9a-f]", "[0-9A-F]"):
            if re.fullmatch(f"{digits}+", word):
                return Vary(word, f"{digits}+")
        return Vary(word, r"\S+")

    def occurrences(self):
        """A regex for the token in the expected text: whole, not part of a longer run of its shape."""
        if self.pattern == r"\S+":
            return re.escape(self.token)
        shape = self.pattern[:-1]  # one character of the shape
        return f"(?<!{shape}){re.escape(self.token)}(?!{shape})"


ELLIPSIS = "..."
ANSI = re.compile(r"\x1b(\[[0-9;?]*[ -/]*[@-~]|[()][0-9A-B]|[=>])")


def screen_lines(raw):
    """What a terminal shows of some output: line ends normalised, a carriage return overwriting
    the line, colours and other escape sequences gone."""
    text = ANSI.sub("", raw.replace("\r\n", "\n"))
    return [line.rsplit("\r", 1)[-1] for line in text.split("\n")]


class LinePattern:
    """One expected line, compiled: spacing is free (column widths vary with the width of the
    numbers in them), varying tokens match their shape, and everything else is literal."""

    def __init__(self, line, varies):
        self.text = line
        self.ranges = []
        line = line.strip()
        found = sorted(((m.start(), m.end(), v) for v in varies for m in re.finditer(v.occurrences(), line)),
                       key=lambda t: (t[0], -t[1]))
        parts = []
        at = 0
        for start, end, vary in found:
            if start < at:
                continue  # inside a longer token already replaced
            parts.append(literal(line[at:start]))
            parts.append(vary.pattern if vary.low is None else f"({vary.pattern})")
            if vary.low is not None:
                self.ranges.append(vary)
            at = end
        parts.append(literal(line[at:]))
        self.regex = re.compile("".join(parts))

    def matches(self, got):
        return self.regex.fullmatch(got.strip()) is not None and not self.out_of_range(got)

    def out_of_range(self, got):
        """The `varies: TOKEN=LO-HI` ranges a line of the shape expected breaks, said for a diff."""
        m = self.regex.fullmatch(got.strip())
        if m is None:
            return ""
        return ", ".join(f"{n} is not within {v.low}-{v.high}" for v, n in zip(self.ranges, m.groups())
                         if not v.low <= int(n) <= v.high)


def literal(text):
    """A regex for literal text in which any run of blanks matches any other."""
    return r"\s+".join(re.escape(word) for word in re.split(r"\s+", text))


def trim(lines):
    """Lines without the blank lines at their end (a code block cannot show them)."""
    lines = [line.rstrip() for line in lines]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def matches(expected, got, varies=(), unordered=False):
    """Does output `got` (lines) match the expected lines of the text?"""
    expected, got = trim(expected), trim(got)
    patterns = [ELLIPSIS if line.strip() == ELLIPSIS else LinePattern(line, varies) for line in expected]
    if unordered:
        return match_unordered(patterns, got)
    return match_in_order(patterns, got)


def match_in_order(patterns, got):
    # reachable[j]: the patterns so far can account for exactly got[:j]
    reachable = [True] + [False] * len(got)
    for pattern in patterns:
        if pattern is ELLIPSIS:
            for j in range(1, len(got) + 1):
                reachable[j] = reachable[j] or reachable[j - 1]
        else:
            reachable = [False] + [reachable[j] and pattern.matches(got[j]) for j in range(len(got))]
    return reachable[-1]


def match_unordered(patterns, got):
    """Each expected line matches a line of its own (any order); `...` allows lines left over."""
    lines = [p for p in patterns if p is not ELLIPSIS]
    if len(lines) != len(got) and ELLIPSIS not in patterns:
        return False
    owner = {}  # got index -> pattern index: a bipartite matching, grown by augmenting paths

    def place(i, seen):
        for j, line in enumerate(got):
            if j not in seen and lines[i].matches(line):
                seen.add(j)
                if j not in owner or place(owner[j], seen):
                    owner[j] = i
                    return True
        return False

    return all(place(i, set()) for i in range(len(lines)))


def as_expected(expected, got, varies=(), unordered=False):
    """The output to show beside the expected text in a diff: the expected text itself where it
    matched, and otherwise the output with each line that matches some expected line written as
    that line, so that the diff shows only what really differs."""
    if matches(expected, got, varies, unordered):
        return trim(expected)
    patterns = [LinePattern(line, varies) for line in trim(expected) if line.strip() != ELLIPSIS]
    unused = list(range(len(patterns)))
    shown = []
    for line in trim(got):
        for i in unused:
            if patterns[i].matches(line):
                unused.remove(i)
                line = patterns[i].text
                break
            if patterns[i].out_of_range(line):
                line += f"    <- {patterns[i].out_of_range(line)}"
                break
        shown.append(line)
    return shown if shown != trim(expected) else trim(got)  # never a diff that shows no difference
