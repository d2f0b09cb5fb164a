#!/usr/bin/env python
"""Django's command-line utility; the `patron` command wraps it."""

import os
import sys


def main() -> None:
    from patron.config.env import settings_module

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", settings_module())
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
