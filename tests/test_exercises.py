"""The exercises (make exercise-N, make grade-N), as far as a few seconds can check them: every
behaviour a stage is graded on is checked by a test and explained in NOTES.md."""

import os
import re
import sys

from conftest import ROOT

sys.path.insert(0, os.path.join(ROOT, "tests", "grade"))
from behaviours import BEHAVIOURS, UNIT_TESTED  # noqa: E402  (tests/grade is not a package)


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
