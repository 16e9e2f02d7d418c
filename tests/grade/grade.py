"""Grade a learner's own stage N (make grade-N): run the course's tests of stage N against their
server, and say, behaviour by behaviour, what it does and what it does not do yet.

    grade.py --stage N --server-binary mine/partN/server [--parser-tests BINARY] [--only NAME ...]

The black-box tests run as `pytest --stage N --server-binary PATH` (tests/conftest.py), which
writes each test's behaviour and outcome to a JSON file; Part 1 also runs the parser's doctest
cases (--parser-tests: tests/unit/test_http_request.cpp built with the learner's parser). pytest's
own output goes to grade.log beside the server. --only grades the behaviours named (as in
tests/grade/behaviours.py), to work on one. Exit status: 0 when every required behaviour graded
passes, 1 when one does not, 2 when the tests could not be run.
"""

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import textwrap
import xml.etree.ElementTree as ElementTree

from behaviours import BEHAVIOURS, UNIT_TESTED
from exercise import ROOT, chapter_heading

WIDTH = 100      # the longest line of the report
TEXT = WIDTH - 23  # of a detail, after its label
MAX_LINES = 4    # lines of a message or a log shown, the rest counted
SHOWN_RULES = 4  # failing doctest cases shown


# ---- running the tests -------------------------------------------------------------------------------

def run_pytest(stage, binary, log_path, only):
    """Run the graded tests of `stage` against `binary` (of the behaviours `only`, if given); returns
    their results, or None (see the log)."""
    workers = os.environ.get("PYTEST_WORKERS", "4")
    with tempfile.TemporaryDirectory() as scratch:
        results = os.path.join(scratch, "results.json")
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts=", "--tb=short",
                   "-n", workers, "--stage", str(stage), "--server-binary", binary, "--grade-json", results,
                   *(["--grade-only", ",".join(only)] if only else []), "tests"]
        with open(log_path, "w") as log:
            status = subprocess.run(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL).returncode
        if status not in (0, 1, 5) or not os.path.exists(results):  # all passed, some failed, none chosen
            return None
        with open(results) as f:
            return json.load(f)["tests"]


def run_parser_tests(binary):
    """Run the parser's doctest cases; returns [{"name", "where", "passed", "checks": [...]}, ...],
    or, if the run ended abnormally, one case: the one it was in, "crashed"."""
    try:
        done = subprocess.run([binary, "-r=xml", "--no-version"], capture_output=True, timeout=120)
    except subprocess.TimeoutExpired as e:
        return [crashed_case(e.stdout or b"", "did not finish within 120 s")]
    if done.returncode < 0:
        return [crashed_case(done.stdout, f"died of {signal.Signals(-done.returncode).name}")]
    try:
        report = ElementTree.fromstring(done.stdout)
    except ElementTree.ParseError:
        return [crashed_case(done.stdout, f"exited with status {done.returncode}, its report cut short")]
    cases = []
    for case in report.iter("TestCase"):
        if case.get("skipped") == "true":
            continue
        checks = []
        for failed in case.iter("Expression"):
            if failed.get("success") == "false":
                original = (failed.findtext("Original") or "").strip()
                expanded = (failed.findtext("Expanded") or "").strip()
                checks.append(f"{failed.get('type')}( {original} ) is ( {expanded} )")
        checks += [f"threw {(e.text or '').strip()}" for e in case.iter("Exception")]
        overall = case.find("OverallResultsAsserts")
        passed = overall is not None and overall.get("test_case_success") == "true"
        cases.append({"name": case.get("name"), "where": f"{case.get('filename')}:{case.get('line')}",
                      "passed": passed, "checks": checks})
    return cases


def crashed_case(xml_so_far, how):
    """A doctest run that ended abnormally, as one failed case: the last one it began."""
    begun = re.findall(rb'<TestCase name="([^"]*)" filename="[^"]*" line="(\d+)">', xml_so_far)
    name, line = (begun[-1][0].decode(errors="replace"), begun[-1][1].decode()) if begun else ("(none yet)", "?")
    return {"name": name, "where": f"{UNIT_TESTED['parser_rules']}:{line}", "passed": False, "crashed": how,
            "checks": [f"the test program {how} in this rule"]}


# ---- from results to behaviours -----------------------------------------------------------------------

def behaviour_results(tests, parser_cases):
    """{behaviour: (state, [failed test results], number of tests)}, state one of passed, failed, skipped."""
    by_behaviour = {}
    # A failure while the test ran says more than one when its server was started or stopped.
    tests = sorted(tests, key=lambda r: ({"call": 0, "setup": 1}.get(r.get("phase"), 2), r["order"]))
    for result in tests:
        by_behaviour.setdefault(result["behaviour"], []).append(result)
    states = {}
    for name, results in by_behaviour.items():
        failed = [r for r in results if r["outcome"] == "failed"]
        skipped = all(r["outcome"] == "skipped" for r in results)
        states[name] = ("failed" if failed else "skipped" if skipped else "passed", failed or results, len(results))
    if parser_cases is not None:
        failed = [case for case in parser_cases if not case["passed"]]
        states["parser_rules"] = ("failed" if failed else "passed", parser_cases, len(parser_cases))
    return {name: states[name] for name in BEHAVIOURS if name in states}  # in the course's order


# ---- what the learner reads ---------------------------------------------------------------------------

def where_to_reread(behaviour, stage):
    chapter, section = BEHAVIOURS[behaviour].section_for(stage)
    return f'NOTES.md, {chapter}, "{section}"' if section else f"NOTES.md, {chapter}"


def shorten(text, width=TEXT):
    return text if len(text) <= width else text[:width - 3] + "..."


def show_bytes(data):
    """Bytes as one line: CR and LF as \\r and \\n, other unprintable bytes as \\xHH."""
    out = []
    for c in data.encode("latin-1"):
        out.append({13: "\\r", 10: "\\n"}.get(c, chr(c) if 32 <= c < 127 else f"\\x{c:02X}"))
    return "".join(out)


def show_sent(sent):
    shown = shorten(show_bytes(sent), TEXT - 14)
    return shown + (f"  ({len(sent)} bytes)" if len(shown) < len(show_bytes(sent)) else "")


def show_received(exchange):
    """What came back on a connection, or how nothing did: a line or two."""
    received, ended = exchange["received"], exchange["ended"]
    if not received:
        return [{"closed": "nothing: the server closed the connection without an answer",
                 "reset": "nothing: the connection was reset",
                 "": "nothing yet (the test had not read an answer)"}.get(ended, f"nothing: {ended}")]
    head, blank, body = received.partition("\r\n\r\n")
    if received.startswith("HTTP/") and blank:
        body_lines = textwrap.wrap(f'body: "{show_bytes(body)}"', TEXT, max_lines=2, placeholder=' ..."')
        shown = [head.split("\r\n")[0]] + (body_lines if body else [])
    else:
        shown = [shorten(show_bytes(received))]
    if ended.startswith("nothing more"):
        shown.append(f"then {ended}: the connection stayed open")
    return shown


def message_lines(message):
    """A failure's message as a few lines: pytest's explanations (+ where ..., a diff) and bare
    `assert False` left out, the first line wrapped, the others cut, a long output counted. Of a
    server's log, the last lines are shown: the ones about the request."""
    message, _, log = message.partition("the log was:\n")
    kept = []
    for line in message.strip().splitlines():
        stripped = line.strip()
        if not stripped or stripped[0] in "+-?" or stripped in ("assert False", "assert True", "Full diff:") \
                or stripped.startswith("Use -v to get"):
            continue
        kept.append(line.rstrip())
    if not kept:
        return []
    lines = textwrap.wrap(kept[0] + (" the log was:" if log else ""), TEXT, break_on_hyphens=False)
    lines += [shorten(line) for line in kept[1:]]
    if len(lines) > MAX_LINES:
        lines = lines[:MAX_LINES] + [f"... ({len(lines) - MAX_LINES} more lines in grade.log)"]
    log_lines = [shorten(line) for line in log.splitlines() if line.strip()]
    if len(log_lines) > MAX_LINES - 1:
        lines.append(f"... ({len(log_lines) - MAX_LINES + 1} lines before these in grade.log)")
        log_lines = log_lines[-(MAX_LINES - 1):]
    return lines + log_lines


def detail(label, lines, indent=10):
    """`label` then its first line; the other lines under it."""
    pad = " " * indent
    out = [f"{pad}{label:<9} {lines[0]}"]
    out += [f"{pad}{'':<9}   {line}" for line in lines[1:]]
    return out


def describe_test_failure(failed, count):
    """The lines that explain a behaviour's first failing test: what went over the wire, what the
    test expected (its statement, and what was found), where the test is."""
    first = failed[0]
    out = []
    exchange = first.get("exchange")
    if exchange and exchange["sent"]:
        out += detail("sent", [show_sent(exchange["sent"])])
        out += detail("received", show_received(exchange))
    if first.get("server_ended"):
        out += detail("server", [f"{first['server_ended']} during the test"])
    message = message_lines(first.get("message", ""))
    if first.get("phase") == "teardown":
        out += detail("problem", message_lines("when the server was stopped, after the test: "
                                               + first.get("message", "")))
    elif first.get("kind") == "assertion":
        statement = first.get("statement", "")
        checked = [shorten(statement.removeprefix("assert "))] if statement.startswith("assert ") else []
        out += detail("expected", checked + message or ["(no message)"])
    else:
        out += detail("error" if first.get("kind") == "error" else "problem", message or ["(no message)"])
    test = first["test"].split("::")[-1]
    more = f"; {len(failed) - 1} more of its {count} tests fail too" if len(failed) > 1 else ""
    out += detail("test", textwrap.wrap(f"{first.get('where', '')}  {test}{more}", TEXT, break_on_hyphens=False,
                                        break_long_words=False))
    return out


def describe_parser_failure(cases):
    failed = [case for case in cases if not case["passed"]]
    if failed[0].get("crashed"):
        out = [f"          the parser's tests stopped: the program {failed[0]['crashed']}, in this rule:"]
    else:
        out = [f"          {len(failed)} of {len(cases)} rules fail; the first of them:"]
    for case in failed[:SHOWN_RULES]:
        out.append(f"            {shorten(case['name'], WIDTH - 24)}   (line {case['where'].split(':')[-1]})")
        checks = list(dict.fromkeys(case["checks"]))  # a check in a loop fails once per turn
        out += [f"              {shorten(check, WIDTH - 14)}" for check in checks[:2]]
    if len(failed) > SHOWN_RULES:
        out.append(f"            ... and {len(failed) - SHOWN_RULES} more")
    return out


def report(stage, binary, states, parser_binary, log_path, only):
    """The learner's text, and whether every required behaviour graded passed (and one at least was
    checked: behaviours all skipped pass no grade)."""
    shown_binary = os.path.relpath(binary, ROOT) if binary.startswith(ROOT + os.sep) else binary
    topic = (chapter_heading(stage) or f"Part {stage}").split(": ", 1)[-1].split(" (")[0]
    lines = [f"{shown_binary} as stage {stage} of the course, {topic}",
             f"(pytest's own report, tracebacks and all: {os.path.relpath(log_path, ROOT)})", ""]
    if only:
        lines[-1:-1] = [f"Only {', '.join(only)}, as asked."]
    counts = {}
    for optional in (False, True):
        chosen = {name: state for name, state in states.items() if BEHAVIOURS[name].optional == optional}
        if not chosen:
            continue
        lines.append("Optional: the course's demonstrations, never needed to pass" if optional
                     else "Required behaviours")
        for name, (state, results, count) in chosen.items():
            behaviour = BEHAVIOURS[name]
            mark = {"passed": "ok  ", "failed": "FAIL", "skipped": "skip"}[state]
            lines += textwrap.wrap(behaviour.title, WIDTH, initial_indent=f"  {mark}  ", subsequent_indent=" " * 8,
                                   break_on_hyphens=False)
            if state == "skipped":
                lines += detail("why", message_lines(results[0].get("message", "")) or ["skipped"])
            elif state == "failed" and optional:
                lines += detail("why", (message_lines(results[0].get("message", "")) or ["(no message)"])[:2])
            elif state == "failed" and name in UNIT_TESTED:
                lines += describe_parser_failure(results)
                lines += detail("reread", [where_to_reread(name, stage)])
                lines += detail("run them", [f"{os.path.relpath(parser_binary, ROOT)}   (one rule: -tc='NAME')"])
            elif state == "failed":
                lines += describe_test_failure(results, count)
                lines += detail("reread", [where_to_reread(name, stage)])
        checked = [state for state, _, _ in chosen.values() if state != "skipped"]
        counts[optional] = (checked.count("passed"), len(checked))
        lines.append("")
    passed, total = counts.get(False, (0, 0))
    summary = f"stage {stage}: {passed} of {total} behaviours {'asked for ' if only else ''}pass"
    if only and not total:
        summary = f"stage {stage}: no required behaviour asked for"
    if True in counts:
        summary += " (optional: {} of {})".format(*counts[True])
    lines.append(summary)
    required_failed = any(state == "failed" and not BEHAVIOURS[name].optional for name, (state, _, _) in states.items())
    checked = any(state != "skipped" for state, _, _ in states.values())
    return "\n".join(lines), checked and not required_failed


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stage", type=int, choices=range(1, 7), required=True)
    parser.add_argument("--server-binary", required=True, help="the learner's server, as stage N")
    parser.add_argument("--parser-tests", help="the parser's doctest cases, built with the learner's parser")
    parser.add_argument("--only", nargs="*", default=[], metavar="NAME",
                        help="grade these behaviours only: " + " ".join(BEHAVIOURS))
    args = parser.parse_args()
    only = [name for word in args.only for name in word.replace(",", " ").split()]
    unknown = [name for name in only if name not in BEHAVIOURS]
    if unknown:
        parser.error(f"no behaviour {', '.join(unknown)}; they are: {' '.join(BEHAVIOURS)}")
    binary = os.path.abspath(args.server_binary)
    log_path = os.path.join(os.path.dirname(binary), "grade.log")
    print(f"Running the tests of stage {args.stage} against {args.server_binary} ...", flush=True)

    wanted = args.parser_tests and (not only or "parser_rules" in only)
    parser_cases = run_parser_tests(os.path.abspath(args.parser_tests)) if wanted else None
    tests = run_pytest(args.stage, binary, log_path, only)
    if tests is None:
        print(f"The tests could not be run: see {os.path.relpath(log_path)}")
        return 2
    states = behaviour_results(tests, parser_cases)
    if not states:
        print(f"None of {', '.join(only)} is graded at stage {args.stage}.")
        return 2
    text, all_required_pass = report(args.stage, binary, states,
                                     args.parser_tests and os.path.abspath(args.parser_tests), log_path, only)
    print(text)
    return 0 if all_required_pass else 1


if __name__ == "__main__":
    sys.exit(main())
