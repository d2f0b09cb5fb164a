"""Running the real `patron` command in a subprocess against its own data directory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

PATRON = str(Path(sys.executable).with_name("patron"))
MANAGE = str(Path(__file__).resolve().parent.parent / "manage.py")


def command_environment(data_directory: Path, **overrides: str) -> dict[str, str]:
    """A clean environment: no inherited PATRON_* so the command uses its own SQLite file."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("PATRON_")}
    environment.pop("DJANGO_SETTINGS_MODULE", None)
    environment["PATRON_DATA_DIR"] = str(data_directory)
    environment.update(overrides)
    return environment


def run(arguments: list[str], environment: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        arguments, env=environment, capture_output=True, text=True, timeout=300, check=False
    )
