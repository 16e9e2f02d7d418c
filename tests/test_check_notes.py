"""The course text's checker (tests/notes/check-notes), checked: how it matches expected output,
then the whole checker on two texts of its own, one whose every block must pass (sample.md) and
one whose every block must fail, saying why (broken.md).

`make test` has built what the sample's blocks run. They use port 8888, in a network namespace of
their own; where none can be made and 8888 is taken, the checker skips them and so do these tests.
"""

import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ElementTree

import pytest

from conftest import ROOT

sys.path.insert(0, os.path.join(ROOT, "tests", "notes"))
from blocks import Vary, as_expected, matches, read_blocks, screen_lines  # noqa: E402


def varies(*tokens):
    return [Vary.parse(token) for token in tokens]


# ---- matching, rule by rule -----------------------------------------------------------------------

@pytest.mark.parametrize("expected, got, tokens, ok", [
    ("pid 23242", "pid 7", ["23242"], True),
    ("pid 23242", "pid 7f", ["23242"], False),              # a number stands for digits only
    ("pid 23242", "pid 7 8", ["23242"], False),
    ("socket 6a3f", "socket 00ff", ["6a3f"], True),
    ("socket 6a3f", "socket 00fg", ["6a3f"], False),        # hex: [0-9a-f] only
    ("0100007F:22B8", "0100007F:1F90", ["22B8"], True),      # or [0-9A-F], as the text writes it
    ("0100007F:22B8", "0100007F:1f90", ["22B8"], False),
    ("took 0.02 s", "took 1.5e-3 s", ["0.02"], True),        # other tokens: any run of non-blanks
    ("took 0.02 s", "took  s", ["0.02"], False),
    ("port 8888 of 18888", "port 1 of 18888", ["8888"], True),  # 8888 inside 18888 is not the token
    ("port 8888 of 18888", "port 1 of 2", ["8888"], False),
    ("read 249", "read 200", ["249=200-300"], True),
    ("read 249", "read 300", ["249=200-300"], True),
    ("read 249", "read 199", ["249=200-300"], False),
    ("read 249", "read 301", ["249=200-300"], False),
    ("a  b", "  a b   ", [], True),                          # blanks: any run is any other
    ("a b", "ab", [], False),
    ("ab", "a b", [], False),
    ("Hello, World!", "Hello, world!", [], False),
])
def test_a_line_matches_literally_but_for_blanks_and_the_varying_tokens(expected, got, tokens, ok):
    assert matches([expected], [got], varies(*tokens)) == ok


@pytest.mark.parametrize("expected, got, ok", [
    (["a", "...", "z"], ["a", "z"], True),                   # ... is any number of lines, or none
    (["a", "...", "z"], ["a", "b", "c", "z"], True),
    (["a", "...", "z"], ["a", "b"], False),
    (["...", "z"], ["z", "z"], True),
    (["a", "b"], ["a", "b", "c"], False),                    # no line more than the text shows
    (["a", "b", "", ""], ["a", "b"], True),                  # blank lines at the end aside
])
def test_elided_lines(expected, got, ok):
    assert matches(expected, got) == ok


@pytest.mark.parametrize("expected, got, ok", [
    (["a", "b", "c"], ["c", "a", "b"], True),
    (["a", "b", "c"], ["c", "a"], False),
    (["a", "b"], ["b", "a", "c"], False),
    (["a", "b", "..."], ["b", "x", "a"], True),
    (["n 5", "n 1"], ["n 1", "n 2"], True),   # the first pattern takes "n 1" first, then gives it up
])
def test_unordered_lines_each_match_a_line_of_their_own(expected, got, ok):
    assert matches(expected, got, varies("5"), unordered=True) == ok


def test_the_diff_shows_matching_lines_as_the_text_wrote_them_and_out_of_range_numbers_as_such():
    shown = as_expected(["port 59608", "read 249", "total 3"], ["port 40000", "read 12", "total 4"],
                        varies("59608", "249=200-300"))
    assert shown == ["port 59608", "read 12    <- 12 is not within 200-300", "total 4"]


def test_output_is_read_as_a_terminal_shows_it():
    raw = "\x1b[32mgreen\x1b[0m\r\n  0%\r 50%\r100%\r\nend"
    assert screen_lines(raw) == ["green", "100%", "end"]


# ---- reading the text -----------------------------------------------------------------------------

TEXT = """\
## Part 1: basic HTTP (`part1_basic_http`)

### Experiments

1. In a list:

   <!-- check; server: ./part1/server --port 8889;
        do: a; b; varies: 42 7=1-9; unordered -->
       $ one \\
       two
       out

<!-- figure -->
```
picture
```

    unmarked

<!-- manual: a browser -->
A paragraph.
"""


def test_blocks_are_what_a_renderer_shows_with_the_marker_before_each():
    listed, figure, unmarked, stray = read_blocks(TEXT)
    assert (listed.line, listed.section) == (9, "Part 1: basic HTTP > Experiments")
    assert listed.kind == "check" and not listed.error
    assert listed.servers == ["./part1/server --port 8889"] and listed.hidden == ["a; b"]
    assert [v.token for v in listed.varies] == ["42", "7"] and listed.unordered
    assert [(s.command, s.expected) for s in listed.steps] == [("one \\\ntwo", ["out"])]
    assert figure.kind == "figure" and figure.text == "picture\n"
    assert (unmarked.line, unmarked.kind) == (18, None) and "no marker" in unmarked.error
    assert stray.line == 20 and "no code block after it" in stray.error


# ---- the checker, whole ---------------------------------------------------------------------------

def run_checker(name, tmp_path):
    """Run check-notes on tests/notes/NAME: (exit status, its output, {test name: (outcome, text)})."""
    report = tmp_path / "report.xml"
    result = subprocess.run([os.path.join(ROOT, "tests", "notes", "check-notes"), f"tests/notes/{name}",
                             f"--junitxml={report}"], cwd=ROOT, capture_output=True, text=True, timeout=180)
    outcomes = {}
    for case in ElementTree.parse(report).iter("testcase"):
        failure, skipped = case.find("failure"), case.find("skipped")
        outcomes[case.get("name")] = (("failed", failure.text) if failure is not None
                                      else ("skipped", skipped.get("message")) if skipped is not None
                                      else ("passed", ""))
    not_run = [text for outcome, text in outcomes.values() if outcome == "skipped" and "port 8888" in text]
    if not_run:
        pytest.skip(not_run[0])
    # The samples' blocks expect a machine of their own (`ss` showing their sockets alone).
    if "; run in the machine's own" in result.stdout:
        pytest.skip("check-notes could not make namespaces here: " + result.stdout.splitlines()[-2])
    return result.returncode, result.stdout, outcomes


def test_the_checker_passes_every_block_of_the_sample(tmp_path):
    status, output, outcomes = run_checker("sample.md", tmp_path)
    assert status == 0, output
    assert {name: outcome for name, (outcome, _) in outcomes.items() if outcome != "passed"} == {
        "What cannot be checked, line 149": "skipped"}, output
    assert output.endswith("1 figure, not counted\n14 blocks checked, 1 manual: a browser window\n")


# What each block of broken.md must fail with, by its section.
BROKEN = {
    "A wrong output": "-Hello, world\n+Hello, World!",
    "An unmarked block": "a code block with no marker before it",
    "A marker without a block": "a marker with no code block after it: <!-- check -->",
    "A misspelt option": "unknown option 'sever: ./part1/server'",
    "A manual block without a reason": "<!-- manual -->: say `manual: ` and a reason",
    "A transcript without a prompt": "a transcript begins with a `$ ` command, not 'curl -s",
    "A quote that drifted": "that it does not hold:\n      int port = 8080;",
    "A server that never serves": "never said it was serving (it exited with status 2)",
    "A log that differs": "the server's log differs from the text",
    "A hidden command that fails": "`do: test -f no-such-file` failed (status 1)",
    "A command that takes too long": "did not end within the block's time ('sleep 5' was running)",
    "A number out of its range": "+3    <- 3 is not within 5-9",
    "A token of the wrong shape": "-pid 1234\n+pid 12ab",
    "A line missing, in any order": "-c",
    "Elided lines cannot make up a missing one": " first\n-...\n-last\n+second",
}


def test_the_checker_fails_every_block_of_broken_md_saying_why(tmp_path):
    status, output, outcomes = run_checker("broken.md", tmp_path)
    assert status == 1, output
    sections = {re.sub(r", line \d+$", "", name): result for name, result in outcomes.items()}
    assert sorted(sections) == sorted(BROKEN)
    wrong = [f"{section}: {outcome}, not failed with {BROKEN[section]!r}:\n{text}"
             for section, (outcome, text) in sections.items()
             if outcome != "failed" or BROKEN[section] not in text]
    assert not wrong, "\n\n".join(wrong)
    assert output.endswith("0 figures, not counted; 10 of the checked blocks failed; "
                           "5 blocks unmarked or wrongly marked\n10 blocks checked, 0 manual\n")
