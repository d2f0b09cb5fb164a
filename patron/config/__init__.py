"""Project configuration: settings, the one API, URLs and the WSGI/ASGI entry points."""
