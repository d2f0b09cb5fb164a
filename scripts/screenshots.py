"""Screenshots of every main workspace page of the demo shop, for the README and docs.

Run: make screenshots   (or .venv/bin/python scripts/screenshots.py [--output docs/screenshots])

A fresh data directory gets the 2,000-customer demo shop; `patron serve` runs on a free port;
headless Chromium (Debian's package, driven by Playwright) signs in as the admin and saves one
PNG per page at laptop size. Detail pages are reached the way a person reaches them: by
following the first row of their list.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
VIEWPORT = {"width": 1366, "height": 900}
CHROMIUM_ARGUMENTS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"]

# (file name, path to open, CSS selector of a link to follow first or None)
PAGES = (
    ("dashboard", "/", None),
    ("customers", "/customers/?sort=-total_spent", None),
    ("customer", "/customers/?sort=-orders", "table.table tbody a[href^='/customers/']"),
    ("duplicates", "/customers/duplicates/?match=phone", None),
    ("merge-preview", "/customers/duplicates/?match=phone", "a.button[href*='/merge/']"),
    ("insights", "/insights/", None),
    (
        "customer-predictions",
        "/customers/?sort=-orders",
        "table.table tbody a[href^='/customers/']",
    ),
    ("companies", "/companies/", None),
    ("company", "/companies/", "table.table tbody a[href^='/companies/']"),
    ("orders", "/orders/", None),
    ("order", "/orders/", "table.table tbody a[href^='/orders/']"),
    ("products", "/products/", None),
    ("product", "/products/", "table.table tbody a[href^='/products/']"),
    ("sources", "/data/sources/", None),
    ("live-events", "/data/events/", None),
    ("import", "/data/imports/", None),
    ("staff", "/settings/staff/", None),
    ("api-keys", "/settings/api-keys/", None),
    ("audit-log", "/settings/audit/", None),
)

# Pages shot scrolled to a region further down (file name -> CSS selector).
SCROLL_TO = {"customer-predictions": "#panel-predictions"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def patron(arguments: list[str], environment: dict[str, str]) -> str:
    return subprocess.run(
        [str(BIN / "patron"), *arguments],
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def wait_until_serving(url: str) -> None:
    for _ in range(300):
        try:
            with urllib.request.urlopen(url + "login/", timeout=2):  # noqa: S310 - loopback only
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("the server did not start")


def sign_in(page: Page, url: str, password: str) -> None:
    page.goto(url + "login/")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state("networkidle")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--customers", type=int, default=2000)
    arguments = parser.parse_args()
    executable = shutil.which("chromium")
    if not executable:
        raise SystemExit("Debian's chromium is required: `make test` installs it")
    arguments.output.mkdir(parents=True, exist_ok=True)

    with tempfile.TemporaryDirectory(prefix="patron-screenshots-") as data_directory:
        environment = {**os.environ, "PATRON_DATA_DIR": data_directory}
        environment.pop("PATRON_DATABASE_URL", None)
        patron(["migrate"], environment)
        created = patron(["createadmin"], environment)
        match = re.search(r"Password: (\S+)", created)
        if match is None:
            raise SystemExit(f"no password in createadmin's output: {created!r}")
        patron(["demo-data", "--customers", str(arguments.customers)], environment)
        patron(["insights", "refresh"], environment)
        port = free_port()
        server = subprocess.Popen(
            [str(BIN / "patron"), "serve", "--port", str(port)],
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}/"
        try:
            wait_until_serving(url)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=executable, args=CHROMIUM_ARGUMENTS
                )
                page = browser.new_page(viewport=VIEWPORT)
                sign_in(page, url, match.group(1))
                for name, path, follow in PAGES:
                    page.goto(url + path.lstrip("/"))
                    if follow is not None:
                        page.locator(follow).first.click()
                    page.wait_for_load_state("networkidle")
                    if name in SCROLL_TO:
                        page.locator(SCROLL_TO[name]).evaluate(
                            "element => element.scrollIntoView()"
                        )
                    target = arguments.output / f"{name}.png"
                    page.screenshot(path=str(target), full_page=False)
                    print(f"{target}  ←  {page.url.removeprefix(url[:-1])}")
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
