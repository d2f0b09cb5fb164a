"""gunicorn's logger for `patron serve`: access log lines never carry a write key or API key."""

from __future__ import annotations

from typing import Any

from gunicorn.glogging import Logger

from patron.core.logging import redact


class RedactingLogger(Logger):
    def atoms(
        self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any
    ) -> dict[str, Any]:
        atoms = super().atoms(resp, req, environ, request_time)
        # Segment clients send the write key as the Basic user name, which gunicorn logs as %(u)s.
        atoms["u"] = "-"
        for name in ("r", "U", "q"):
            if isinstance(atoms.get(name), str):
                atoms[name] = redact(atoms[name])
        atoms.pop("{authorization}i", None)
        return atoms
