"""tests/bench/hello_wsgi.py: the WSGI app the bench runs under gunicorn (one sync worker).
GET /hello answers "Hello, World!" at once; GET /wait first waits 20 ms, as for a database."""
import time


def app(environ, start_response):
    if environ.get("PATH_INFO") == "/wait":
        time.sleep(0.020)
    body = b"Hello, World!"
    start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8"),
                              ("Content-Length", str(len(body)))])
    return [body]
