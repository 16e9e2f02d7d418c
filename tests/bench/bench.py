#!/usr/bin/python3
"""tests/bench/bench.py: what each concurrency model costs, measured side by side in one run.

`make bench` runs it (and `make bench QUICK=1`, a smoke test for CI). Every server is started
fresh for each measurement on an ephemeral port, checked with one request, warmed up, loaded
with wrk (`-H 'Connection: close'`: one connection per request, as the course's servers serve
them), and stopped by its pid with SIGTERM; a server that exits badly or leaves a child behind
fails the run. Two scenarios:

  hello  GET /hello, answered at once: the cost of the server itself.
  wait   GET /wait, every request waiting 20 ms before it is answered, as for a database: the
         stages load tests/bench/wait_app.c (a gateway app, so part1, which has no gateway, sits
         this one out), the bare C servers take --sleep-ms, nginx echo_sleep, gunicorn sleeps.

The results go to tests/bench/results.md and the charts next to it (QUICK: tests/bench/out/quick/);
everything else, the servers' logs included, to tests/bench/out/. Standard library only: run it
with Debian's /usr/bin/python3. `bench.py --help` lists the options.
"""

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # tests/
from processes import become_subreaper, terminate  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BENCH = os.path.join(ROOT, "tests", "bench")
OUT = os.path.join(BENCH, "out")

WAIT_MS = 20                 # how long a request of the wait scenario waits
REFERENCE_CONCURRENCY = 16   # wrk -t2 -c16: the reference setting
SWEEP = [1, 4, 16, 64]       # concurrency sweep for the servers named in SWEPT
SWEPT = ["part3", "part3 asio", "part6", "bare iterative", "bare fork", "nginx"]
QUICK_SWEPT = ["part3", "part3 asio", "part6"]
ZOMBIE_CAP = 12000           # part5 never reaps: stop loading it before it fills the pid space
PATHS = {"hello": "/hello", "wait": "/wait"}
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def note(text):
    print(f"bench: {text}", flush=True)


# ---- what to measure ------------------------------------------------------------------------------

@dataclass
class Subject:
    """One server as the bench runs it."""
    name: str
    model: str              # how it serves connections, for the table
    argv: dict              # scenario -> command (with {port} when `fixed_port`), or a reason it cannot
    ready: str = r"Serving HTTP on \S+ port (\d+) "   # log line that gives the port
    fixed_port: bool = False   # the bench picks the port (nginx cannot tell us one it chose)
    zombies_ok: bool = False   # part5 leaves zombies by design: counted, not an error
    env: dict = field(default_factory=dict)


def stage(name, binary, model, waits=True, zombies_ok=False):
    wait_app = os.path.join("tests", "bench", "out", "wait_app.so")
    argv = {"hello": [binary, "--port", "0"],
            "wait": [binary, "--port", "0", wait_app, str(WAIT_MS)] if waits else
                    "has no gateway to load the waiting app into (it answers /hello itself)"}
    return Subject(name, model, argv, zombies_ok=zombies_ok)


def bare(name, binary, model):
    path = os.path.join("tests", "bench", "out", binary)
    return Subject(name, model, {"hello": [path, "--port", "0"],
                                 "wait": [path, "--port", "0", "--sleep-ms", str(WAIT_MS)]})


def all_subjects(peers):
    subjects = [
        bare("bare iterative", "bare_iterative", "iterative (C floor)"),
        stage("part1", "part1/server", "iterative", waits=False),
        stage("part2", "part2/server", "iterative"),
        stage("part3", "part3/server", "iterative"),
        stage("part3 asio", "part3/asio_server", "iterative (Asio)"),
        stage("part4", "part4/server", "iterative"),
        bare("bare fork", "bare_fork", "fork per connection (C floor)"),
        stage("part5", "part5/server", "fork per connection", zombies_ok=True),
        stage("part6", "part6/server", "fork per connection"),
    ]
    # A real framework through the gateway: Flask, in Python, run by part6 through the WSGI bridge.
    if os.path.exists("part2/wsgi.so"):
        flask = ["part6/server", "--port", "0", "part2/wsgi.so", "part2_gateway/python/flaskapp:app"]
        subjects.append(Subject("part6 + Flask", "fork per connection, Python app",
                                {"hello": flask, "wait": "the Flask app has no route that waits"}))
    return subjects + peers


# ---- tools -----------------------------------------------------------------------------------------

def can_install():
    if os.geteuid() == 0:
        return []
    if shutil.which("sudo") and subprocess.run(["sudo", "-n", "true"], capture_output=True).returncode == 0:
        return ["sudo"]
    return None


_apt_updated = False


def apt_install(packages):
    """Install Debian packages as root or through passwordless sudo; False if that cannot be done."""
    global _apt_updated
    sudo = can_install()
    if sudo is None:
        return False
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    note(f"installing {' '.join(packages)} with apt-get")
    if not _apt_updated:
        subprocess.run(sudo + ["apt-get", "update", "-q"], env=env, capture_output=True)
        _apt_updated = True
    done = subprocess.run(sudo + ["apt-get", "install", "-y", "-q", *packages], env=env, capture_output=True,
                          text=True)
    if done.returncode != 0:
        note(f"apt-get install {' '.join(packages)} failed:\n{done.stderr.strip()[-800:]}")
    return done.returncode == 0


def require_tools():
    """wrk and gnuplot are needed: install them, or stop with the line that would."""
    missing = [pkg for cmd, pkg in (("wrk", "wrk"), ("gnuplot", "gnuplot-nox")) if not shutil.which(cmd)]
    if missing and not apt_install(missing):
        sys.exit(f"bench: it needs {' '.join(missing)}. Install with:\n  sudo apt-get install -y {' '.join(missing)}")


def find_peers(install, notes):
    """nginx and gunicorn, installed if `install` and possible; each one missing is a note."""
    peers = []
    echo_module = "/usr/lib/nginx/modules/ngx_http_echo_module.so"
    if install:
        # nginx-light brings nginx and the echo module along (Debian 12); one package at a time,
        # so that one that cannot be had does not keep the other out.
        wanted = [pkg for present, pkg in ((shutil.which("nginx") and os.path.exists(echo_module), "nginx-light"),
                                           (shutil.which("gunicorn"), "gunicorn")) if not present]
        for pkg in wanted:
            if not apt_install([pkg]):
                notes.append(f"could not install {pkg} (needs root or passwordless sudo)")
    if shutil.which("nginx"):
        prefix = os.path.join(OUT, "nginx")
        has_echo = os.path.exists(echo_module)
        argv = ["nginx", "-p", prefix, "-c", os.path.join(prefix, "nginx.conf"), "-e",
                os.path.join(prefix, "error.log")]
        peers.append(Subject("nginx", "event loop, 1 worker",
                             {"hello": argv, "wait": argv if has_echo else
                              "needs Debian's libnginx-mod-http-echo for echo_sleep"},
                             ready="", fixed_port=True))
        write_nginx_config(prefix, echo_module if has_echo else None)
        if not has_echo:
            notes.append("nginx: no wait scenario (libnginx-mod-http-echo, which gives echo_sleep, is missing)")
    else:
        notes.append("nginx: not installed (Debian package nginx-light), not measured")
    if shutil.which("gunicorn"):
        argv = ["gunicorn", "--workers", "1", "--worker-class", "sync", "--bind", "127.0.0.1:0",
                "--chdir", BENCH, "--access-logfile", "-", "hello_wsgi:app"]
        peers.append(Subject("gunicorn", "sync worker, 1 process", {"hello": argv, "wait": argv},
                             ready=r"Listening at: http://[\d.]+:(\d+)", env={"PYTHONDONTWRITEBYTECODE": "1"}))
    else:
        notes.append("gunicorn: not installed (Debian package gunicorn), not measured")
    return peers


def write_nginx_config(prefix, echo_module):
    """nginx with every path of its own under `prefix`, one worker; {port} is filled per run."""
    os.makedirs(prefix, exist_ok=True)
    wait = """
        location = /wait {
            default_type "text/plain; charset=utf-8";
            echo_sleep %.3f;
            echo -n "Hello, World!";
        }""" % (WAIT_MS / 1000) if echo_module else ""
    temp = "".join(f"    {kind}_temp_path {prefix}/{kind};\n" for kind in
                   ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    config = f"""# Written by tests/bench/bench.py for one run of the bench.
{f"load_module {echo_module};" if echo_module else ""}
worker_processes 1;
daemon off;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{
    worker_connections 1024;
}}
http {{
    access_log {prefix}/access.log;
{temp}    server {{
        listen 127.0.0.1:{{port}};
        location = /hello {{
            default_type "text/plain; charset=utf-8";
            return 200 "Hello, World!";
        }}{wait}
    }}
}}
"""
    with open(os.path.join(prefix, "nginx.conf.in"), "w") as f:
        f.write(config)


def build_helpers():
    """The bare C servers, the waiting app and the fork timer, with plain cc -O2, into out/."""
    cc = os.environ.get("CC", "cc")
    jobs = [("bare_iterative", ["-o", "bare_iterative", "bare_iterative.c"]),
            ("bare_fork", ["-o", "bare_fork", "bare_fork.c"]),
            ("forkcost", ["-o", "forkcost", "forkcost.c"]),
            ("wait_app.so", ["-shared", "-fPIC", f"-I{ROOT}", "-o", "wait_app.so", "wait_app.c"])]
    for target, args in jobs:
        args = [a if not a.endswith(".c") else os.path.join(BENCH, a) for a in args]
        args = [os.path.join(OUT, a) if a == target else a for a in args]
        done = subprocess.run([cc, "-O2", *args], capture_output=True, text=True)
        if done.returncode != 0:
            sys.exit(f"bench: {cc} could not build {target}:\n{done.stderr}")


# ---- processes ---------------------------------------------------------------------------------------

def children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


def status_fields(pid):
    """(state letter, VmRSS in KiB) from /proc/PID/status; a zombie has no VmRSS."""
    state, rss = "?", 0
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("State:"):
                    state = line.split()[1]
                elif line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
    except OSError:
        return None, 0
    return state, rss


def pss_kib(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class Monitor(threading.Thread):
    """Samples the memory of a server and its live descendants while wrk loads it."""

    def __init__(self, pid, on_too_many_zombies=None, interval=0.1):
        super().__init__(daemon=True)
        self.pid, self.interval, self.on_too_many = pid, interval, on_too_many_zombies
        self.peak_rss = self.peak_pss = self.peak_live = self.peak_zombies = 0
        self.done = threading.Event()
        self.zombies = set()   # a zombie stays one: never read again

    def sample(self):
        rss = pss = live = zombies = 0
        todo = [self.pid]
        while todo:
            pid = todo.pop()
            kids = children(pid)
            # Children are listed oldest first and the live ones are the newest: walk back from the
            # end and stop after a run of zombies, so that part5's thousands cost next to nothing.
            run_of_zombies, seen = 0, 0
            for kid in reversed(kids):
                seen += 1
                state = "Z" if kid in self.zombies else status_fields(kid)[0]
                if state == "Z":
                    self.zombies.add(kid)
                    run_of_zombies += 1
                    if run_of_zombies >= 64:
                        break
                elif state is not None:
                    run_of_zombies = 0
                    todo.append(kid)
            if pid == self.pid:  # the direct children not looked at are zombies of long ago
                zombies = len(kids) - seen + sum(1 for k in kids[len(kids) - seen:] if k in self.zombies)
            state, kib = status_fields(pid)
            if state not in (None, "Z"):
                rss += kib
                pss += pss_kib(pid)
                live += pid != self.pid
        self.peak_rss, self.peak_pss = max(self.peak_rss, rss), max(self.peak_pss, pss)
        self.peak_live, self.peak_zombies = max(self.peak_live, live), max(self.peak_zombies, zombies)
        if self.on_too_many and zombies > ZOMBIE_CAP:
            self.on_too_many()
            self.on_too_many = None

    def run(self):
        while not self.done.wait(self.interval):
            self.sample()

    def stop(self):
        self.done.set()
        self.join()


def tree_kib(pid):
    """VmRSS of a process and its live descendants, summed (a forking server's children too)."""
    state, kib = status_fields(pid)
    total = kib if state != "Z" else 0
    for kid in children(pid):
        total += tree_kib(kid)
    return total


def tree_cpu_seconds(pid, top=True):
    """CPU time used so far by a process, its descendants (zombies too) and the children it has
    already reaped (cutime, cstime). /proc/PID/stat counts in clock ticks and rounds each process
    down, which makes a child that ran 100 µs count 0: the children's own time is read in
    nanoseconds from /proc/PID/schedstat instead."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        own = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime stime
        if not top:
            with open(f"/proc/{pid}/schedstat") as f:
                own = int(f.read().split()[0]) / 1e9
    except (OSError, IndexError, ValueError):
        return 0.0
    reaped = (int(fields[13]) + int(fields[14])) / CLOCK_TICKS  # cutime cstime: summed exactly
    return own + reaped + sum(tree_cpu_seconds(kid, top=False) for kid in children(pid))


def reap_orphans():
    """Reap what a stopped server left to us: (live ones, zombies). Call only when no Popen of ours
    is still running (waitpid(-1) would take its status from subprocess)."""
    live, zombies = [], 0
    for pid in children(os.getpid()):
        state, _ = status_fields(pid)
        if state == "Z":
            os.waitpid(pid, 0)
            zombies += 1
        elif state is not None:
            live.append(pid)
    for pid in live:  # a child outlived its server: report it, then end it
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    return live, zombies


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---- one measurement -----------------------------------------------------------------------------

@dataclass
class Run:
    subject: str
    model: str
    scenario: str
    concurrency: int
    round: int
    rps: float = 0.0
    requests: int = 0
    seconds: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    errors: int = 0
    error_detail: str = ""
    idle_kib: int = 0
    loaded_kib: int = 0
    loaded_pss_kib: int = 0
    peak_children: int = 0
    peak_zombies: int = 0
    time_wait: int = 0      # TCP connections in TIME_WAIT on the machine when the server started
    cpu_us: float = 0.0     # CPU time (user + system) of the server and its children, per request
    problems: list = field(default_factory=list)


def wait_ready(subject, process, log_path, port):
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return None
        if subject.ready:
            with open(log_path, errors="replace") as f:
                m = re.search(subject.ready, f.read(65536))
            if m:
                port = int(m.group(1))
        if port:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return port
            except OSError:
                pass
        time.sleep(0.02)
    return None


def check_answer(port, path):
    """One request by hand: the server must answer 200 with Hello, World!."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    status = data.split(b"\r\n", 1)[0].decode("latin-1")
    if not status.startswith("HTTP/1.1 200") or b"Hello, World!" not in data:
        return f"answered {status!r} to GET {path}"
    return ""


def parse_duration_ms(text):
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text)
    scale = {"us": 0.001, "ms": 1, "s": 1000, "m": 60000, "h": 3600000}[m.group(2)]
    return float(m.group(1)) * scale


def parse_wrk(output, run):
    m = re.search(r"(\d+) requests in ([\d.]+)(\w+)", output)
    run.requests = int(m.group(1)) if m else 0
    run.seconds = parse_duration_ms(m.group(2) + m.group(3)) / 1000 if m else 0
    m = re.search(r"Requests/sec:\s+([\d.]+)", output)
    run.rps = float(m.group(1)) if m else 0.0
    for pct, attr in (("50", "p50_ms"), ("99", "p99_ms")):
        m = re.search(rf"^\s+{pct}%\s+(\S+)", output, re.M)
        setattr(run, attr, parse_duration_ms(m.group(1)) if m else 0.0)
    detail = []
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    if m:
        run.errors += sum(int(x) for x in m.groups())
        detail.append(m.group(0))
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if m:
        run.errors += int(m.group(1))
        detail.append(m.group(0))
    if run.requests == 0:
        run.errors += 1
        detail.append("wrk made no request")
    run.error_detail = "; ".join(detail)


def wrk(port, path, concurrency, seconds, latency=True):
    threads = min(2, concurrency)
    return ["wrk", f"-t{threads}", f"-c{concurrency}", f"-d{seconds}s", "--timeout", "10s",
            *(["--latency"] if latency else []), "-H", "Connection: close", f"http://127.0.0.1:{port}{path}"]


def time_wait_count():
    """TCP connections in TIME_WAIT on this machine (parts 4-6 read them all at start-up)."""
    with open("/proc/net/sockstat") as f:
        m = re.search(r"\btw (\d+)", f.read())
    return int(m.group(1)) if m else 0


def start(subject, scenario):
    """Start a server with its log in out/logs/; returns (process, port or None, log path)."""
    argv = subject.argv[scenario]
    port = free_port() if subject.fixed_port else 0
    if subject.name == "nginx":
        prefix = os.path.join(OUT, "nginx")
        with open(os.path.join(prefix, "nginx.conf.in")) as f:
            config = f.read().replace("{port}", str(port))
        with open(os.path.join(prefix, "nginx.conf"), "w") as f:
            f.write(config)
    os.makedirs(os.path.join(OUT, "logs"), exist_ok=True)
    log_path = os.path.join(OUT, "logs", f"{subject.name.replace(' ', '-')}.{scenario}.log")
    with open(log_path, "w") as log:
        process = subprocess.Popen(argv, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   env=dict(os.environ, **subject.env))
    return process, wait_ready(subject, process, log_path, port), log_path


def at_rest(subjects, wait_for_quiet):
    """Each server started once before any load: idle RSS and start-up time, with the number of
    TIME_WAIT connections on the machine then. A full run first waits (up to 70 s) for the
    TIME_WAIT connections of earlier runs to expire."""
    deadline = time.monotonic() + 70
    if wait_for_quiet and time_wait_count() > 2000:
        note(f"waiting for {time_wait_count()} TIME_WAIT connections to expire (at most 70 s)")
        while time_wait_count() > 2000 and time.monotonic() < deadline:
            time.sleep(1)
    rest = {}
    for subject in subjects:
        tw = time_wait_count()
        began = time.monotonic()
        process, port, log_path = start(subject, "hello")
        seconds = time.monotonic() - began
        time.sleep(0.2)
        kib = tree_kib(process.pid) if port else 0
        problems = stop(process, subject) + ([] if port else ["did not start listening"])
        trim_log(log_path)
        rest[subject.name] = {"idle_kib": kib, "startup_s": seconds, "time_wait": tw, "problems": problems}
    return rest


def measure(subject, scenario, concurrency, round_number, args):
    """Start the server, check it, warm it up, load it, stop it: one Run."""
    run = Run(subject.name, subject.model, scenario, concurrency, round_number)
    run.time_wait = time_wait_count()
    process, port, log_path = start(subject, scenario)
    try:
        if port is None:
            run.problems.append("did not start listening (see its log in tests/bench/out/logs/)")
            return run
        time.sleep(0.2)
        run.idle_kib = tree_kib(process.pid)
        problem = check_answer(port, PATHS[scenario])
        if problem:
            run.problems.append(problem)
            return run
        if args.warmup > 0:
            subprocess.run(wrk(port, PATHS[scenario], min(concurrency, 4), args.warmup, latency=False),
                           capture_output=True)
        cpu_before = tree_cpu_seconds(process.pid)
        load = subprocess.Popen(wrk(port, PATHS[scenario], concurrency, args.duration), stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        stopped_early = []

        def too_many_zombies():  # part5: end the run (wrk reports what it did so far on SIGINT)
            stopped_early.append(True)
            load.send_signal(signal.SIGINT)

        monitor = Monitor(process.pid, too_many_zombies if subject.zombies_ok else None)
        monitor.start()
        output, _ = load.communicate()
        monitor.stop()
        cpu = tree_cpu_seconds(process.pid) - cpu_before
        parse_wrk(output, run)
        run.cpu_us = cpu * 1e6 / run.requests if run.requests else 0.0
        run.loaded_kib, run.loaded_pss_kib = monitor.peak_rss, monitor.peak_pss
        run.peak_children, run.peak_zombies = monitor.peak_live, monitor.peak_zombies
        if stopped_early:
            run.problems.append(f"note: stopped after {run.seconds:.1f} s, at {ZOMBIE_CAP} zombies")
        with open(os.path.join(OUT, "logs", "wrk.last.txt"), "w") as f:
            f.write(output)
    finally:
        run.problems += stop(process, subject)
        trim_log(log_path)
    return run


def stop(process, subject):
    """SIGTERM by pid, then check the exit and that no child was left behind. A server with no
    handler for SIGTERM (stages 1 to 5) ends by its default action: status -15."""
    problems = terminate(process)
    if process.returncode not in (0, -signal.SIGTERM, -signal.SIGKILL):
        problems.append(f"exited with status {process.returncode}")
    live, zombies = reap_orphans()
    if live:
        problems.append(f"left {len(live)} live child process(es) behind")
    if zombies and not subject.zombies_ok:
        problems.append(f"left {zombies} zombie(s) behind")
    return problems


def trim_log(path):
    """Keep the start and end of a server's log (it holds a line per request: megabytes)."""
    try:
        with open(path, errors="replace") as f:
            lines = f.readlines()
    except OSError:
        return
    if len(lines) > 60:
        lines = lines[:40] + [f"... {len(lines) - 60} lines left out by the bench ...\n"] + lines[-20:]
    with open(path, "w") as f:
        f.writelines(lines)


# ---- the whole run -------------------------------------------------------------------------------

def plan(subjects, args):
    """(subject, scenario, concurrency, round) in the order to run them: the reference setting in
    rounds, each round going through every server, so that drift on a shared machine hits all of
    them alike; then the concurrency sweep."""
    todo = []
    for r in range(1, args.rounds + 1):
        for scenario in args.scenarios:
            for s in subjects:
                if isinstance(s.argv[scenario], list):
                    todo.append((s, scenario, REFERENCE_CONCURRENCY, r))
    swept = QUICK_SWEPT if args.quick else SWEPT
    sweep = [c for c in args.sweep if c != REFERENCE_CONCURRENCY]
    for scenario in args.scenarios:
        for c in sweep:
            for s in subjects:
                if s.name in swept and isinstance(s.argv[scenario], list):
                    todo.append((s, scenario, c, 1))
    return todo


def fork_cost(rounds):
    done = subprocess.run([os.path.join(OUT, "forkcost"), str(rounds), "0", "4", "64"], capture_output=True,
                          text=True)
    costs = {}
    for line in done.stdout.splitlines():
        m = re.search(r"(\d+) MiB touched\s+([\d.]+) us", line)
        if m:
            costs[int(m.group(1))] = float(m.group(2))
    return costs


def load_average():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a few seconds a server; for CI")
    parser.add_argument("--rounds", type=int, help="rounds of the reference setting (default 3, quick 1)")
    parser.add_argument("--duration", type=int, help="seconds of each wrk run (default 5, quick 1)")
    parser.add_argument("--warmup", type=int, help="seconds of warm-up before each run (default 1, quick 0)")
    parser.add_argument("--sweep", type=lambda s: [int(c) for c in s.split(",")], help="concurrencies (1,4,16,64)")
    parser.add_argument("--scenarios", type=lambda s: s.split(","), default=["hello", "wait"],
                        help="hello,wait (default both)")
    parser.add_argument("--only", help="comma-separated server names to run (part3 is always kept)")
    parser.add_argument("--extra", action="append", default=[], metavar="NAME=BINARY",
                        help="also measure BINARY (a stage-like server built elsewhere, a scratch fix say)")
    parser.add_argument("--no-peers", action="store_true", help="leave nginx and gunicorn out")
    parser.add_argument("--report-only", action="store_true",
                        help="rewrite the report of the last full run (with --quick: quick run) from its runs.json")
    parser.add_argument("--out", help="where results.md and the charts go (default tests/bench, quick out/quick)")
    args = parser.parse_args()
    quick = args.quick
    args.rounds = args.rounds or (1 if quick else 3)
    args.duration = args.duration or (1 if quick else 5)
    args.warmup = args.warmup if args.warmup is not None else (0 if quick else 1)
    args.sweep = args.sweep or ([1, 16, 64] if quick else SWEEP)
    report_dir = args.out or (os.path.join(OUT, "quick") if quick else BENCH)
    os.makedirs(OUT, exist_ok=True)
    os.makedirs(report_dir, exist_ok=True)

    # Each kind of run keeps its raw results beside its report, so that one never redraws the other's.
    saved_runs = os.path.join(OUT, "quick" if quick else "", "runs.json")
    if args.report_only:  # redraw the report from the saved runs, without measuring
        import report
        with open(saved_runs) as f:
            saved = json.load(f)
        runs = [Run(**r) for r in saved["runs"]]
        meta = dict(saved["meta"], started=0)
        names = list(dict.fromkeys(r.subject for r in runs)) + list(meta["at_rest"])
        models = {r.subject: r.model for r in runs}
        subjects = [Subject(n, models.get(n, ""), {}) for n in dict.fromkeys(names)]
        return finish(report, runs, subjects, meta, report_dir)

    require_tools()
    notes = []
    peers = [] if args.no_peers else find_peers(install=not quick, notes=notes)
    if quick and not args.no_peers:
        notes.append("quick run: nginx and gunicorn measured only if already installed")
    build_helpers()
    subjects = all_subjects(peers)
    for spec in args.extra:
        name, binary = spec.split("=", 1)
        subjects.append(stage(name, binary, "iterative (extra)" if "fork" not in name else "fork (extra)"))
    if args.only:
        keep = set(args.only.split(",")) | {"part3"}
        subjects = [s for s in subjects if s.name in keep]
    missing = [s for s in subjects if s.argv["hello"][0].startswith("part")
               and not os.access(os.path.join(ROOT, s.argv["hello"][0]), os.X_OK)]
    for s in missing:
        if s.name == "part3 asio":
            notes.append("part3 asio: part3/asio_server is not built (it needs libboost-dev), not measured")
            subjects.remove(s)
        else:
            sys.exit(f"bench: {s.argv['hello'][0]} is not built: run `make all` first")

    become_subreaper()
    started = time.time()
    load_before = load_average()
    costs = fork_cost(200 if quick else 2000)
    rest = at_rest(subjects, wait_for_quiet=not quick)
    todo = plan(subjects, args)
    note(f"{len(todo)} runs of {args.duration} s (+{args.warmup} s warm-up) each; servers' logs to "
         f"files in tests/bench/out/logs/")
    runs = []
    for i, (subject, scenario, concurrency, r) in enumerate(todo, 1):
        run = measure(subject, scenario, concurrency, r, args)
        runs.append(run)
        flag = "" if not run.errors and not [p for p in run.problems if not p.startswith("note")] else "  <- PROBLEM"
        note(f"[{i}/{len(todo)}] {subject.name:<15} {scenario:<5} c{concurrency:<3} {run.rps:10.1f} req/s  "
             f"p50 {run.p50_ms:8.2f} ms  p99 {run.p99_ms:8.2f} ms  errors {run.errors}"
             f"{'  ' + '; '.join(run.problems) if run.problems else ''}{flag}")
    import report  # tests/bench/report.py: the table, the targets and the charts
    meta = {"quick": quick, "rounds": args.rounds, "duration": args.duration, "warmup": args.warmup,
            "minutes": (time.time() - started) / 60, "load_before": load_before, "load_after": load_average(),
            "cpus": os.cpu_count(), "at_rest": rest, "kernel": os.uname().release, "fork_cost_us": costs, "notes": notes,
            "wait_ms": WAIT_MS, "started": started, "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    with open(saved_runs, "w") as f:
        json.dump({"meta": meta, "runs": [r.__dict__ for r in runs]}, f, indent=1)
    finish(report, runs, subjects, meta, report_dir)


def finish(report, runs, subjects, meta, report_dir):
    failures = report.write(runs, subjects, meta, report_dir, OUT)
    if failures:
        print("bench: FAILED:\n  " + "\n  ".join(failures))
        sys.exit(1)
    note(f"wrote {os.path.relpath(report_dir, ROOT)}/results.md, requests.png, concurrency.png "
         f"({meta['minutes']:.1f} min)")


if __name__ == "__main__":
    sys.path.insert(0, BENCH)
    main()
