"""ASGI entry point, for servers that want one; `patron serve` uses WSGI (measured faster)."""

import os

from django.core.asgi import get_asgi_application

from patron.config.env import settings_module

os.environ.setdefault("DJANGO_SETTINGS_MODULE", settings_module())
application = get_asgi_application()
