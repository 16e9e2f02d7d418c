"""The course's structure: what each stage links, and what each stage's diff shows.

A concept is taught in the stage that introduces it. The Makefile names, per stage, the common/
modules it introduces (NEW_1 ... NEW_6); a stage links those and the earlier stages' ones, never a
later stage's, and `make diff-N` shows each of them whole after the server.cpp diff.
"""

import os
import re
import subprocess

import pytest

from conftest import ROOT

def introduced_modules():
    """{N: [files stage N introduces]}, read from the NEW_N lists of the Makefile."""
    text = open(os.path.join(ROOT, "Makefile")).read().replace("\\\n", " ")
    found = {int(n): value.split() for n, value in re.findall(r"^NEW_(\d) :=(.*)$", text, re.MULTILINE)}
    assert sorted(found) == [1, 2, 3, 4, 5, 6], "the Makefile lists NEW_1 ... NEW_6"
    return found


def test_every_common_file_is_introduced_by_exactly_one_part_which_its_first_line_names():
    introduced = introduced_modules()
    listed = [f for files in introduced.values() for f in files]
    on_disk = sorted(f"common/{name}" for name in os.listdir(os.path.join(ROOT, "common")))
    assert sorted(listed) == on_disk, "each file of common/ is in exactly one NEW_N list"
    for part, files in introduced.items():
        for path in files:
            with open(os.path.join(ROOT, path)) as f:
                first = f.readline()
            assert f"{path} (Part {part})" in first, f"{path} opens by naming Part {part}: {first!r}"


# What no stage may use before the part that teaches it: symbols looked up in each binary.
TAUGHT_IN = {
    2: ("load_app", "build_environ", "call_app"),                    # the gateway
    4: ("descriptor_table", "describe_descriptor"),                   # the /proc reader
    5: ("fork",),                                                     # a process per connection
    6: ("sigaction", "signal", "sigprocmask", "waitpid", "kill"),    # signals
}


def symbols(binary):
    """The names a binary defines or imports, demangled, without argument lists or versions."""
    out = subprocess.run(["nm", "-C", os.path.join(ROOT, binary)], capture_output=True, text=True, check=True)
    names = set()
    for line in out.stdout.splitlines():
        name = line[19:] if len(line) > 19 else ""
        names.add(re.split(r"[(@\[]", name, maxsplit=1)[0].strip())
    return names


@pytest.mark.behaviour("links_what_is_taught")
def test_a_stage_links_nothing_of_a_later_part(stage):
    names = symbols(stage.binary)
    for part, taught in TAUGHT_IN.items():
        for name in taught:
            if stage.number < part:
                assert name not in names, f"{stage.binary} uses {name}, which Part {part} teaches"
            elif name in ("load_app", "descriptor_table", "fork", "sigaction", "waitpid"):
                assert name in names, f"{stage.binary} should use {name} (Part {part})"


@pytest.mark.behaviour("ascii_classes")
def test_no_stage_classifies_request_bytes_by_the_c_librarys_locale(stage):
    # isalnum(), tolower() and the rest follow the locale, which an app (Python's, through the
    # bridge) may set: a byte of a request would then be a letter in one process and not in
    # another. The parser and the environ builder use ASCII classes of their own.
    locale_dependent = {"isalnum", "isalpha", "isdigit", "isxdigit", "isspace", "isupper", "islower",
                        "isprint", "ispunct", "iscntrl", "isgraph", "tolower", "toupper"}
    assert not locale_dependent & symbols(stage.binary)


def diff_text(n):
    result = subprocess.run(["make", "-s", "--no-print-directory", f"diff-{n}", "COLOR=never"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 6])
def test_make_diff_shows_the_server_diff_then_each_module_the_stage_introduces_whole(n):
    text = diff_text(n)
    stage_dir = sorted(d for d in os.listdir(ROOT) if d.startswith(f"part{n}_"))[0]
    assert f"+++ b/{stage_dir}/server.cpp" in text
    for path in introduced_modules()[n]:
        with open(os.path.join(ROOT, path)) as f:
            lines = f.read().splitlines()
        section = text.split(f"+++ b/{path}\n", 1)
        assert len(section) == 2, f"diff-{n} does not show {path}"
        shown = [line[1:] for line in section[1].splitlines() if line.startswith("+")]
        assert shown[:len(lines)] == lines, f"diff-{n} shows {path} whole, as added lines"
    print(f"make diff-{n}: {len(text.splitlines())} lines")
