"""A Django app in one file, for the C++ servers, through the WSGI bridge (part2/wsgi.so).

    make part2
    ./part2/server part2/wsgi.so part2_gateway/python/djangoapp
    curl localhost:8888/hello
    curl 'localhost:8888/hello/Ada?greeting=Bonjour'
    curl localhost:8888/echo -d note=hi

No project scaffolding: the settings are configured here, the URLs are this module's
`urlpatterns`, and `application` (the name the bridge looks up when none is given, as Django's
own wsgi.py names it) is the WSGI callable.
"""
import django
from django.conf import settings
from django.core.wsgi import get_wsgi_application
from django.http import HttpResponse, JsonResponse
from django.urls import path
from django.views.decorators.http import require_POST, require_safe

settings.configure(
    DEBUG=False,
    SECRET_KEY="a course example, not a secret",
    ALLOWED_HOSTS=["localhost", "127.0.0.1", "[::1]"],
    ROOT_URLCONF=__name__,  # the URLs are below, in this module
    MIDDLEWARE=[],          # no sessions, no CSRF tokens: just views
)
django.setup()


@require_safe
def hello(request):
    return HttpResponse("Hello, World!", content_type="text/plain; charset=utf-8")


# <str:name> is a path parameter, ?greeting= a query parameter: Django parsed both out of the environ.
@require_safe
def greet(request, name):
    greeting = request.GET.get("greeting", "Hello")
    return HttpResponse(f"{greeting}, {name}!", content_type="text/plain; charset=utf-8")


# A form, read by Django from wsgi.input, sent back as JSON.
@require_POST
def echo(request):
    return JsonResponse(request.POST.dict())


urlpatterns = [
    path("hello", hello),
    path("hello/<str:name>", greet),
    path("echo", echo),
]

application = get_wsgi_application()
