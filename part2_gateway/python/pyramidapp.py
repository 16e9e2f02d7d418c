"""A Pyramid app for the C++ servers, through the WSGI bridge (part2/wsgi.so).

    make part2
    ./part2/server part2/wsgi.so part2_gateway/python/pyramidapp:app
    curl localhost:8888/hello
    curl 'localhost:8888/hello/Ada?greeting=Bonjour'
    curl localhost:8888/echo -d note=hi

Pyramid builds its WSGI callable from a configuration: routes, then views attached to them.
"""
from pyramid.config import Configurator
from pyramid.response import Response


def hello(request):
    return Response("Hello, World!", content_type="text/plain")


# {name} is a path parameter, ?greeting= a query parameter: Pyramid parsed both out of the environ.
def greet(request):
    greeting = request.params.get("greeting", "Hello")
    return Response(f"{greeting}, {request.matchdict['name']}!", content_type="text/plain")


# A form, read by Pyramid (WebOb) from wsgi.input, sent back as JSON.
def echo(request):
    return dict(request.POST)


with Configurator() as config:
    config.add_route("hello", "/hello")
    config.add_route("greet", "/hello/{name}")
    config.add_route("echo", "/echo")
    config.add_view(hello, route_name="hello", request_method="GET")
    config.add_view(greet, route_name="greet", request_method="GET")
    config.add_view(echo, route_name="echo", request_method="POST", renderer="json")
    app = config.make_wsgi_app()
