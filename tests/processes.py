"""Processes, for the test harness (conftest.py), the benchmark (bench/bench.py) and the check of
NOTES.md (notes/check_notes.py): becoming the reaper of what servers leave behind, reading a
process's state and parent, and stopping a server by its pid."""

import ctypes
import signal
import subprocess


def become_subreaper():
    """Children a server leaves behind when it exits are re-parented to this process instead of
    to init, so that they can be seen and reaped (PR_SET_CHILD_SUBREAPER, prctl(2))."""
    PR_SET_CHILD_SUBREAPER = 36
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def proc_stat(pid):
    """(state, ppid) of a process from /proc/PID/stat, or None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            text = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    after_name = text[text.rindex(")") + 2:].split()  # the name may hold spaces and parentheses
    return after_name[0], int(after_name[1])


def terminate(process, timeout=15):
    """Stop a server as `kill PID` would (SIGTERM) and wait for it; SIGKILL it after `timeout`
    seconds. Returns what went wrong, as a list of sentences (empty: it exited in time)."""
    if process.poll() is not None:
        return []
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
        return []
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        return [f"did not stop within {timeout} s of SIGTERM (killed)"]
