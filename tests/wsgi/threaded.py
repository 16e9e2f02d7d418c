"""An app that starts a Python thread when it is imported, a thread that keeps running Python
code and so holds the GIL most of the time. When a server forks (stages 5 and 6), the child has
no such thread: unless the bridge prepared the fork, the child waits for a GIL nobody will
release.

    ./part2/server part2/wsgi.so tests/wsgi/threaded:app
"""
import threading

spins = 0


def spin():
    global spins
    while True:
        spins += 1


threading.Thread(target=spin, daemon=True).start()


def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"served while another thread was running Python"]
