"""Processes, for the test harness (conftest.py) and the benchmark (bench/bench.py): becoming the
reaper of what servers leave behind, and stopping a server by its pid."""

import ctypes
import signal
import subprocess


def become_subreaper():
    """Children a server leaves behind when it exits are re-parented to this process instead of
    to init, so that they can be seen and reaped (PR_SET_CHILD_SUBREAPER, prctl(2))."""
    PR_SET_CHILD_SUBREAPER = 36
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


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
