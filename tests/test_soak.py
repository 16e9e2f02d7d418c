"""A bounded soak of the final server: many requests from the load client at 64 connections at a
time, then no failed request, no zombie, and descriptors and memory where they were.

`make test` runs a short soak (SOAK_REQUESTS, 1,000 by default); `make soak` runs 20,000."""

import os

import pytest

from conftest import ALL_STAGES, fd_count, request, wait_until_reaped
from test_sockets import run_client

CONCURRENCY = 64


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(next(line for line in f if line.startswith("VmRSS:")).split()[1])


@pytest.mark.stages(names=("part6",))
@pytest.mark.behaviour("no_zombies")
def test_soak_the_final_server(servers):
    total = int(os.environ.get("SOAK_REQUESTS", "1000"))
    per_client = max(1, total // CONCURRENCY)
    server = servers(next(s for s in ALL_STAGES if s.name == "part6"))
    # Warm up, so that the baseline includes whatever the first requests allocate for good.
    run_client("--port", str(server.port), "--max-clients", str(CONCURRENCY), "--max-conns", "2")
    wait_until_reaped(server.pid)
    fds, rss = fd_count(server.pid), rss_kib(server.pid)

    code, counts, report = run_client("--port", str(server.port), "--max-clients", str(CONCURRENCY),
                                      "--max-conns", str(per_client), "--timeout", "30", timeout=300)
    print(f"\nsoak of part6: {CONCURRENCY} clients x {per_client} connections\n{report}")
    assert code == 0, report
    assert counts["answers"] == CONCURRENCY * per_client and counts["statuses"] == {200: CONCURRENCY * per_client}
    assert sum(counts["errors"].values()) == 0

    wait_until_reaped(server.pid)  # every child ended and was reaped: no zombie
    assert fd_count(server.pid) == fds
    grown = rss_kib(server.pid) - rss
    print(f"descriptors {fds} -> {fd_count(server.pid)}, resident memory {rss} KiB -> {rss + grown} KiB")
    # Under AddressSanitizer memory is the sanitizer's (freed blocks wait in its quarantine): the
    # bound holds for the server as built normally.
    if os.environ.get("SANITIZE") != "1":
        assert grown <= 256, f"resident memory grew by {grown} KiB"
    assert request(server.port).status == 200
