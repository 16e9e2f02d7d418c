"""The exercises (make exercise-N, make grade-N), as far as a few seconds can check them: every
behaviour a stage is graded on is checked by a test and explained in NOTES.md, grading stage N runs
the graded tests of the learner's stage N and nothing else, and Part 1's starting point is the parser
less its two line parsers, and compiles. make test-grader grades the course's stages and the
starting points themselves (tests/grade/test_grader.py)."""

import os
import re
import subprocess
import sys

from conftest import ROOT

sys.path.insert(0, os.path.join(ROOT, "tests", "grade"))
from behaviours import BEHAVIOURS, UNIT_TESTED  # noqa: E402  (tests/grade is not a package)
from exercise import CUT, PARSER, parser_stub  # noqa: E402


def notes_chapters():
    """{chapter heading: [its ### headings]} of NOTES.md."""
    chapters, current = {}, None
    with open(os.path.join(ROOT, "NOTES.md")) as f:
        for line in f:
            if line.startswith("## "):
                current = chapters.setdefault(line[3:].strip(), [])
            elif line.startswith("### ") and current is not None:
                current.append(line[4:].strip())
    return chapters


def test_every_behaviour_sends_the_learner_to_a_section_of_notes_that_is_there():
    chapters = notes_chapters()
    for name, behaviour in BEHAVIOURS.items():
        for _, chapter, section in behaviour.reread:
            found = [heading for heading in chapters if heading == chapter or heading.startswith(f"{chapter}:")]
            assert len(found) == 1, f"{name}: NOTES.md has no chapter {chapter!r}"
            assert section is None or section in chapters[found[0]], \
                f"{name}: NOTES.md, {found[0]}, has no section {section!r}"


def test_every_behaviour_is_checked_by_a_test():
    marked = set()
    for entry in os.listdir(os.path.join(ROOT, "tests")):
        if entry.startswith("test_") and entry.endswith(".py"):
            with open(os.path.join(ROOT, "tests", entry)) as f:
                marked |= set(re.findall(r'mark\.behaviour\("(\w+)"\)', f.read()))
    assert marked | set(UNIT_TESTED) == set(BEHAVIOURS)


def test_part_1_starts_from_the_parser_without_its_two_line_parsers_and_compiles(tmp_path):
    with open(os.path.join(ROOT, PARSER)) as f:
        original = f.read()
    stub = parser_stub("mine/part1")

    def without_the_two(text):
        for name in CUT:
            text, found = re.subn(rf"^void RequestParser::{name}\(.*?^}}$", name, text, flags=re.M | re.S)
            assert found == 1, name
        return text

    # Everything of the original is there, after a word to the learner and a pragma, but the two
    # functions, each now a TODO that refuses the request.
    assert stub.count("// TODO (exercise 1)") == 2 and stub.count("fail(501, \"TODO: ") == 2
    after_the_word = stub[stub.index(original.splitlines()[0]):]
    pragma = '#pragma GCC diagnostic ignored "-Wunused-function"\n'
    assert without_the_two(after_the_word).replace(pragma, "", 1) == without_the_two(original)
    path = tmp_path / "http_request.cpp"
    path.write_text(stub)
    compiled = subprocess.run([os.environ.get("CXX", "g++"), "-std=c++20", "-Wall", "-Wextra", "-Werror",
                               "-I", ROOT, "-fsyntax-only", str(path)], capture_output=True, text=True)
    assert compiled.returncode == 0, compiled.stderr


def graded_tests(*options):
    """The ids of the tests `pytest --stage 3 --server-binary ... OPTIONS` would run."""
    listed = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
                             "--stage", "3", "--server-binary", "mine/part3/server", *options, "tests"],
                            cwd=ROOT, capture_output=True, text=True, timeout=60)
    return [line for line in listed.stdout.splitlines() if "::" in line], listed.stdout + listed.stderr


def test_grading_runs_the_graded_tests_of_the_learners_stage_and_nothing_else():
    tests, listed = graded_tests()
    assert len(tests) > 50, listed
    for test in tests:
        parameters = re.search(r"\[(.*)\]$", test)
        assert parameters is None or re.match(r"part3(-|$)(?!asio)", parameters.group(1)), test
    named = {test.split("::")[1].split("[")[0] for test in tests}
    assert "test_the_socket_pair_logged_is_the_one_the_client_sees" in named  # stage 3's own
    assert "test_hello_over_a_raw_socket" in named                            # and what it keeps
    assert "test_the_load_client_counts_refused_connections" not in named    # not_graded: no server
    assert not any(name.startswith("test_every_disagreement") for name in named)


def test_grading_only_some_behaviours_runs_their_tests_alone():
    tests, listed = graded_tests("--grade-only", "socket_pair,hello")
    assert {test.split("::")[1].split("[")[0] for test in tests} == {
        "test_the_socket_pair_logged_is_the_one_the_client_sees", "test_hello_over_a_raw_socket",
        "test_hello_with_http_client", "test_a_request_in_many_small_pieces"}, listed
