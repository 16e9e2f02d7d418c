"""The course's apps wrapped in Python's own checker of PEP 3333, wsgiref.validate.validator,
which sits between server and app and raises AssertionError at the first breach of the rules
by either side. The bridge then logs the traceback and the client gets 500.

    ./part2/server part2/wsgi.so tests/wsgi/validated:flaskapp
    ./part2/server part2/wsgi.so tests/wsgi/validated:uses_write      (an app of plain.py)
"""
import importlib
import os
import sys
import warnings
from wsgiref.validate import WSGIWarning, validator

# Some breaches the validator only warns about: make those errors too.
warnings.simplefilter("error", WSGIWarning)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "part2_gateway", "python"))

FRAMEWORK_APPS = {"flaskapp": "app", "djangoapp": "application", "pyramidapp": "app"}


def __getattr__(name):
    """validated:NAME is the app NAME (a framework app, or one of plain.py) inside the validator.
    Python calls this for a name the module does not have (PEP 562), so that a framework is
    imported only by the server that serves it."""
    if name.startswith("__"):
        raise AttributeError(name)
    if name in FRAMEWORK_APPS:
        app = getattr(importlib.import_module(name), FRAMEWORK_APPS[name])
    else:
        app = getattr(importlib.import_module("plain"), name)
    return validator(app)
