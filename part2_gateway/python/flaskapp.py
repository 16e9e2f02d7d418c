"""A Flask app for the C++ servers, through the WSGI bridge (part2/wsgi.so).

    make part2
    ./part2/server part2/wsgi.so part2_gateway/python/flaskapp:app
    curl localhost:8888/hello
    curl 'localhost:8888/hello/Ada?greeting=Bonjour'
    curl localhost:8888/echo -d note=hi
    curl localhost:8888/environ

Flask is a WSGI framework: `app` is the callable app(environ, start_response) that the bridge
calls for every request.
"""
from flask import Flask, request

app = Flask(__name__)


@app.get("/hello")
def hello():
    return "Hello, World!", {"Content-Type": "text/plain; charset=utf-8"}


# <name> is a path parameter, ?greeting= a query parameter: Flask parsed both out of the environ.
@app.get("/hello/<name>")
def greet(name):
    greeting = request.args.get("greeting", "Hello")
    return f"{greeting}, {name}!", {"Content-Type": "text/plain; charset=utf-8"}


# A form, read by Flask from wsgi.input, sent back as JSON.
@app.post("/echo")
def echo():
    return dict(request.form)


# The environ this view received from the bridge, one variable per line, sorted.
@app.route("/environ", methods=["GET", "POST"])
def environ():
    lines = [f"{name}: {value!r}" for name, value in sorted(request.environ.items())]
    return "\n".join(lines) + "\n", {"Content-Type": "text/plain; charset=utf-8"}
