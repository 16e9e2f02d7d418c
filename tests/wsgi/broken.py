"""A module that fails while it is imported, as an app whose dependency is missing does.

    ./part2/server part2/wsgi.so tests/wsgi/broken:app
"""
import a_module_nobody_installed  # noqa: F401

app = None
