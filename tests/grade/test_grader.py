"""The grader, graded (make test-grader): for every stage, `make grade-N` passes a workspace that
holds the course's own stage N, on every behaviour, and fails the starting point `make exercise-N`
gives on the behaviours of the stage's concept, saying why in words a learner can act on.

The workspaces are folders of build/ (MINE=build/grader-check/...), never the learner's mine/. The
twelve gradings run six at a time; each report is kept there, as grade-N-WORKSPACE.txt.
"""

import os
import re
import shutil
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from behaviours import BEHAVIOURS
from exercise import ROOT, STAGE_DIRS, chapter_heading

CHECK = "build/grader-check"  # MINE must be a folder inside the project
STAGES = range(1, 7)
# The gradings share the machine, six at a time (as long as all twelve at once, with fewer timing
# tests running side by side): each runs its tests in one process (pytest -n 0), but for the stages
# whose tests mostly wait (on delays, on timeouts, on children), which would take longest.
AT_ONCE = 6
WORKERS = {1: "0", 2: "0", 3: "2", 4: "0", 5: "2", 6: "2"}

# What each starting point lacks: the behaviours of the stage's own concept, which must fail.
CONCEPT = {
    1: ["parser_rules", "hello", "malformed_requests", "inspect"],
    2: ["environ", "apps", "app_contract"],
    3: ["socket_calls", "socket_pair"],
    4: ["fds_page", "descriptor_log"],
    5: ["concurrent", "child_per_connection", "who_closes_what"],
    6: ["no_zombies", "accept_restarted", "clean_stop"],
}
# A starting point is graded on those, on behaviours it already has, and on a demonstration: enough
# to see the grader fail it, and pass what it does, in a fraction of the time of all its behaviours.
START_GRADED = {n: CONCEPT[n] + ["command_line", "links_what_is_taught"] + (["hello"] if n > 1 else [])
                for n in STAGES}


def make(*args, env=None):
    started = time.monotonic()
    done = subprocess.run(["make", "-s", "--no-print-directory", *args], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=600)
    return done.returncode, done.stdout + done.stderr, time.monotonic() - started


def course_workspace(folder):
    """A learner's folder holding the course's own stages, as if they had written them."""
    for n in STAGES:
        os.makedirs(os.path.join(folder, f"part{n}"))
        shutil.copy(os.path.join(ROOT, STAGE_DIRS[n - 1], "server.cpp"), os.path.join(folder, f"part{n}"))
    shutil.copy(os.path.join(ROOT, "common", "http_request.cpp"), os.path.join(folder, "part1"))


@pytest.fixture(scope="session")
def gradings():
    """{(workspace, N): (exit status, output, seconds)} of `make grade-N`, and the exercises' output."""
    shutil.rmtree(os.path.join(ROOT, CHECK), ignore_errors=True)
    exercises = {n: make(f"exercise-{n}", f"MINE={CHECK}/start") for n in STAGES}
    course_workspace(os.path.join(ROOT, CHECK, "course"))
    runs = [(workspace, n) for workspace in ("course", "start") for n in STAGES]
    with ThreadPoolExecutor(AT_ONCE) as pool:
        done = pool.map(lambda run: make(f"grade-{run[1]}", f"MINE={CHECK}/{run[0]}",
                                         *([f"ONLY={' '.join(START_GRADED[run[1]])}"] if run[0] == "start" else []),
                                         env={"PYTEST_WORKERS": WORKERS[run[1]]}), runs)
        grades = dict(zip(runs, done))
    for (workspace, n), (status, output, seconds) in sorted(grades.items()):
        with open(os.path.join(ROOT, CHECK, f"grade-{n}-{workspace}.txt"), "w") as f:
            f.write(output)
        print(f"make grade-{n} of the {workspace} workspace: exit status {status} after {seconds:.0f} s")
    return {"exercises": exercises, "grades": grades}


def blocks(output):
    """{behaviour title: [ok, FAIL or skip, then the lines under it]} of a grading's report."""
    found = []
    for line in output.splitlines():
        m = re.match(r"  (ok  |FAIL|skip)  (.*)", line)
        if m:
            found.append([m.group(2), m.group(1).strip()])
        elif found and re.match(r" {8}\S", line):  # the title, wrapped
            found[-1][0] += " " + line.strip()
        elif found and line.startswith(" " * 10):
            found[-1].append(line.strip())
    return {title: rest for title, *rest in found}


def state_of(output, name):
    """ok, FAIL or skip: what the report says of behaviour `name`."""
    title = " ".join(BEHAVIOURS[name].title.split())
    found = blocks(output)
    assert title in found, f"the report does not mention {name!r}:\n{output}"
    return found[title][0]


def lines_of(output, name):
    return blocks(output)[" ".join(BEHAVIOURS[name].title.split())]


@pytest.mark.parametrize("n", STAGES)
def test_exercise_starts_the_workspace_and_says_what_to_do(gradings, n):
    status, output, _ = gradings["exercises"][n]
    assert status == 0, output
    folder = os.path.join(ROOT, CHECK, "start", f"part{n}")
    source = "part1_basic_http" if n == 1 else STAGE_DIRS[n - 2]
    with open(os.path.join(folder, "server.cpp")) as mine, open(os.path.join(ROOT, source, "server.cpp")) as theirs:
        assert mine.read() == theirs.read(), f"stage {n}'s starting point is {source}/server.cpp"
    for expected in (f"Exercise {n}:", chapter_heading(n), f"make grade-{n} MINE={CHECK}/start", f"make diff-{n}"):
        assert expected in " ".join(output.split()), f"the exercise does not say {expected!r}:\n{output}"


def test_exercise_never_replaces_a_learners_work(gradings):
    path = os.path.join(ROOT, CHECK, "start", "part3", "server.cpp")
    with open(path) as f:
        before = f.read()
    status, output, _ = make("exercise-3", f"MINE={CHECK}/start")
    assert status == 0
    assert "already there, left as it is" in output
    with open(path) as f:
        assert f.read() == before


def test_part_1_starts_from_the_parser_with_its_two_line_parsers_cut_out(gradings):
    with open(os.path.join(ROOT, CHECK, "start", "part1", "http_request.cpp")) as f:
        stub = f.read()
    assert stub.count("// TODO (exercise 1)") == 2
    assert "request line is not parsed yet" in stub and "header lines are not parsed yet" in stub
    assert "obsolete line folding" not in stub  # on_header_line's own code is gone


@pytest.mark.parametrize("n", STAGES)
def test_grading_the_course_s_own_stage_passes_every_behaviour(gradings, n):
    status, output, _ = gradings["grades"][("course", n)]
    assert status == 0, output
    summary = re.search(r"^stage (\d): (\d+) of (\d+) behaviours pass \(optional: (\d+) of (\d+)\)$", output, re.M)
    assert summary, output
    assert int(summary.group(1)) == n
    assert summary.group(2) == summary.group(3) and int(summary.group(3)) >= 8, output
    assert summary.group(4) == summary.group(5), output  # the demonstrations work too
    assert "FAIL" not in output


@pytest.mark.parametrize("n", STAGES)
def test_grading_the_starting_point_fails_on_the_stage_s_concept_readably(gradings, n):
    status, output, _ = gradings["grades"][("start", n)]
    assert status != 0, output
    assert "Traceback" not in output, output
    summary = re.search(r"^stage (\d): (\d+) of (\d+) behaviours asked for pass", output, re.M)
    assert summary and int(summary.group(2)) < int(summary.group(3)), output
    for name in CONCEPT[n]:
        assert state_of(output, name) == "FAIL", f"{name} should fail at stage {n}'s start:\n{output}"
        said = " ".join(" ".join(lines_of(output, name)).split())
        assert re.search(r"\b(expected|problem|error|rules fail)\b", said), f"{name}: no reason given:\n{output}"
        assert f"reread NOTES.md, Part {n}" in said, f"{name}: no section to reread:\n{output}"
    # What the starting point already does still passes: the grader fails only what is missing.
    assert state_of(output, "command_line") == "ok"
    if n > 1:
        assert state_of(output, "hello") == "ok"
    # A stage that forks links fork(), one that reaps sigaction(): what the learner has yet to use.
    assert state_of(output, "links_what_is_taught") == ("FAIL" if n in (5, 6) else "ok")


def test_a_failure_says_what_was_sent_and_what_came_back(gradings):
    _, output, _ = gradings["grades"][("start", 1)]
    lines = lines_of(output, "hello")
    assert any(line.startswith("sent") and "GET /hello HTTP/1.1\\r\\n" in line for line in lines), output
    assert any(line.startswith("received") and "HTTP/1.1 501 Not Implemented" in line for line in lines), output
    assert "TODO: the request line is not parsed yet" in output


def test_a_zombie_left_behind_is_named_as_one(gradings):
    _, output, _ = gradings["grades"][("start", 6)]
    said = " ".join(" ".join(lines_of(output, "no_zombies")).split())
    assert "zombie" in said, output
