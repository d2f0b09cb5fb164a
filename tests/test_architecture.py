"""Promises about the code base as a whole, checked by reading the source."""

from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "patron"
SOURCES = [path for path in PACKAGE.rglob("*.py") if "migrations" not in path.parts]


def test_every_module_says_what_belongs_in_it():
    missing = [
        str(path.relative_to(PACKAGE))
        for path in SOURCES
        if "tests" not in path.parts
        and path.stat().st_size
        and ast.get_docstring(ast.parse(path.read_text())) is None
    ]

    assert missing == []


def test_only_config_env_reads_the_environment():
    readers = []
    for path in SOURCES:
        if "tests" in path.parts or path == PACKAGE / "config" / "env.py":
            continue
        text = path.read_text()
        if re.search(
            r"os\.environ(\.get|\[|\))|os\.getenv", text.replace("os.environ.setdefault", "")
        ):
            readers.append(str(path.relative_to(PACKAGE)))

    assert readers == []


def test_no_asset_is_loaded_from_another_host():
    remote = re.compile(r"""(src|href)\s*=\s*["'](https?:)?//""", re.IGNORECASE)
    offenders = [
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.html")
        if remote.search(path.read_text())
    ]

    assert offenders == []


def test_no_user_text_is_marked_safe_in_templates():
    offenders = [
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.html")
        if "|safe" in path.read_text() or "autoescape off" in path.read_text()
    ]

    assert offenders == []
