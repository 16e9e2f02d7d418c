"""Start the learner's own stage N (make exercise-N): the code they begin from, and what to make of it.

    exercise.py --stage N --mine DIR --new "FILES STAGE N INTRODUCES"

For N >= 2 the starting point is stage N-1's server.cpp, which the learner already understands,
copied to DIR/partN/server.cpp. Part 1 teaches the parser, so its starting point is the real Part 1
server with a parser to finish: DIR/part1/http_request.cpp, common/http_request.cpp with the parsing
of the request line and of the header lines cut out (the rest, framing and limits, stays), and a
TODO that refuses every request until they are written. A file already there is never replaced.
"""

import argparse
import os
import re
import sys
import textwrap

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
STAGE_DIRS = ["part1_basic_http", "part2_gateway", "part3_sockets", "part4_descriptors", "part5_fork",
              "part6_zombies"]

# What the learner's server must come to do, stage by stage: the graded behaviours, in a sentence.
GOALS = {
    1: "parses the request line and the header lines of each request (RFC 9112 sections 3 and 5), "
       "and answers it",
    2: "loads the app named on its command line (path/to/app.so[:symbol]), builds the environ from "
       "each request and calls the app through the gateway interface to answer it",
    3: "logs each socket call as it makes it (socket, setsockopt, bind, listen, with --backlog N) and "
       "the socket pair of each connection; --delay SECONDS holds a connection after its answer",
    4: "shows its file descriptors: the table when it starts, each descriptor accept() returns, and "
       "the whole table, as /proc shows it, at /fds",
    5: "serves each connection in a child process of its own (fork), parent and child each closing "
       "what they do not need; the demonstrations are --parent-keeps-client, --child-keeps-listener "
       "and --no-content-length",
    6: "reaps every child that ends (SIGCHLD, waitpid), calls accept() again when a signal interrupts "
       "it, and on SIGTERM stops cleanly (--shutdown-grace); the demonstrations are --reap=wait and "
       "--eintr=fatal",
}

PARSER = "common/http_request.cpp"

# The two functions of the parser Part 1 leaves to the learner, and what the stub of each says.
CUT = {
    "on_request_line": """\
  // TODO (exercise 1): parse the request line (RFC 9112 section 3). Split it at its spaces into
  // method, request-target and HTTP-version, and check each against its rule; fill in request_
  // (method, target, version, path, query, and authority for an absolute-form target), then go on
  // to the header lines: phase_ = Phase::Headers. A line that breaks a rule ends the request:
  // fail(status, why). tests/unit/test_http_request.cpp has a case for each rule.
  static_cast<void>(line);
  fail(501, "TODO: the request line is not parsed yet (RequestParser::on_request_line)");
""",
    "on_header_line": """\
  // TODO (exercise 1): parse one header line (RFC 9112 section 5): field-name ":" OWS field-value
  // OWS, into request_.headers. The empty line ends the header section: on_header_section_end().
  // A line that breaks a rule of section 5 ends the request: fail(status, why).
  static_cast<void>(line);
  fail(501, "TODO: the header lines are not parsed yet (RequestParser::on_header_line)");
""",
}


def parser_stub(folder):
    """common/http_request.cpp with the bodies of the CUT functions replaced by their TODO."""
    with open(os.path.join(ROOT, PARSER)) as f:
        text = f.read()
    for name, stub in CUT.items():
        # From the function's first line to the first closing brace at the start of a line.
        pattern = re.compile(rf"^(void RequestParser::{name}\(std::string_view line\) {{\n).*?^}}$",
                             re.MULTILINE | re.DOTALL)
        text, found = pattern.subn(lambda m: m.group(1) + stub + "}", text)
        if found != 1:
            sys.exit(f"exercise.py: cannot find RequestParser::{name} in {PARSER} to cut it out")
    about = (f"{folder}/http_request.cpp: exercise 1, your copy of {PARSER}, in which the parsing of "
             f"the request line and of the header lines is left to you: look for TODO. `make grade-1` "
             f"builds Part 1's server with this file in the place of the original, and grades it with "
             f"the parser's unit tests and the tests of stage 1. The helpers that only those two "
             f"functions used are kept for you; until you call them, the compiler is told not to call "
             f"them unused (the pragma below).")
    opening = re.match(r"(//.*\n)+", text).end()  # the original's opening comment
    return (textwrap.fill(about, 100, initial_indent="// ", subsequent_indent="// ", break_on_hyphens=False) + "\n//\n"
            + text[:opening] + '#pragma GCC diagnostic ignored "-Wunused-function"\n' + text[opening:])


def place(path, make_text):
    """Write `path` unless it exists: a learner's work is never replaced. Returns what was done."""
    if os.path.exists(path):
        return f"{path} is already there, left as it is (delete it to start again)"
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(make_text())
    return f"wrote {path}"


def copy_of(source):
    def read():
        with open(os.path.join(ROOT, source)) as f:
            return f.read()
    return read


def module_names(files):
    """common/net.hpp common/net.cpp common/log.hpp -> "net.hpp/.cpp, log.hpp"."""
    grouped = {}
    for path in files:
        stem, extension = os.path.splitext(os.path.basename(path))
        grouped.setdefault(stem, []).append(extension)
    return ", ".join(stem + "/".join(extensions) for stem, extensions in grouped.items())


def chapter_heading(stage):
    """The heading of NOTES.md's chapter on stage N ("Part 3: sockets and listen (...)"), or None."""
    with open(os.path.join(ROOT, "NOTES.md")) as f:
        for line in f:
            if line.startswith(f"## Part {stage}:"):
                return line[3:].strip()
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stage", type=int, choices=range(1, 7), required=True)
    parser.add_argument("--mine", required=True, help="the learner's folder (mine)")
    parser.add_argument("--new", default="", help="the common/ files stage N introduces (NEW_N)")
    args = parser.parse_args()
    n, folder = args.stage, os.path.join(args.mine, f"part{args.stage}")
    heading = chapter_heading(n)
    if heading is None:
        sys.exit(f"exercise.py: NOTES.md has no chapter '## Part {n}: ...'")
    new = args.new.split()

    done = [place(os.path.join(folder, "server.cpp"), copy_of(f"{STAGE_DIRS[max(n - 2, 0)]}/server.cpp"))]
    if n == 1:
        done.append(place(os.path.join(folder, "http_request.cpp"), lambda: parser_stub(folder)))
        start = (f"{folder}/http_request.cpp, the parser with the request line and the header lines left "
                 f"for you (TODO: until then every request is answered 501); {folder}/server.cpp is the "
                 f"Part 1 server, to use as it is or to change")
        modules = f"{module_names(f for f in new if f != PARSER)}; http_request.cpp is yours"
    else:
        start = (f"{folder}/server.cpp, a copy of stage {n - 1}'s ({STAGE_DIRS[n - 2]}/server.cpp), to make "
                 f"into stage {n}")
        modules = f"new for this stage: {module_names(new)}" if new else \
            f"nothing new: all of stage {n} is in server.cpp"

    mine = "" if args.mine == "mine" else f" MINE={args.mine}"
    print("\n".join(done))
    print(f"\nExercise {n}: {heading.split(' (')[0].split(': ', 1)[1]}")
    for label, text in [
            ("start from", start),
            ("the goal", f"a server that {GOALS[n]}"),
            ("common/", modules),
            ("read", f'NOTES.md, "{heading}"'),
            ("grade it", f"make grade-{n}{mine}: builds {folder}/server as stage {n} is built, and runs the "
                         f"tests of stage {n} against it"),
            ("stuck?", f"make diff-{n} shows the course's own stage {n}, as a diff")]:
        print(textwrap.fill(text, 100, initial_indent=f"  {label:<11} ", subsequent_indent=" " * 14,
                            break_on_hyphens=False))


if __name__ == "__main__":
    main()
