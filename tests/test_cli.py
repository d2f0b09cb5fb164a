"""The `patron` console script, run for real in a subprocess against a fresh SQLite file."""

from __future__ import annotations

import json
import select
import socket
import subprocess

import pytest
import requests

from tests.helpers import PATRON, command_environment, run


@pytest.fixture
def migrated(tmp_path):
    environment = command_environment(tmp_path)
    result = run([PATRON, "migrate"], environment)
    assert result.returncode == 0, result.stderr
    return environment


def test_source_create_prints_a_write_key_once_as_json(migrated):
    result = run([PATRON, "source", "create", "Web shop", "--json"], migrated)

    assert result.returncode == 0, result.stderr
    created = json.loads(result.stdout)
    assert created["name"] == "Web shop"
    assert len(created["write_key"]) >= 40

    duplicate = run([PATRON, "source", "create", "Web shop", "--json"], migrated)
    assert duplicate.returncode == 1
    assert "already exists" in duplicate.stderr


def test_apikey_create_checks_scopes(migrated):
    good = run(
        [
            PATRON,
            "apikey",
            "create",
            "--scope",
            "customers:read",
            "--scope",
            "orders:read",
            "--json",
        ],
        migrated,
    )
    bad = run([PATRON, "apikey", "create", "--scope", "everything", "--json"], migrated)

    assert good.returncode == 0, good.stderr
    assert json.loads(good.stdout)["scopes"] == ["customers:read", "orders:read"]
    assert json.loads(good.stdout)["key"].startswith("ptk_")
    assert bad.returncode == 1
    assert "unknown scope everything" in bad.stderr


def test_createadmin_is_safe_to_run_twice(migrated):
    first = run([PATRON, "createadmin"], migrated)
    second = run([PATRON, "createadmin"], migrated)

    assert first.returncode == 0 and second.returncode == 0
    assert "Password:" in first.stdout
    assert "Password:" not in second.stdout
    assert "already exists" in second.stdout

    reset = run([PATRON, "createadmin", "--reset-password"], migrated)
    assert reset.returncode == 0
    assert "New password for admin:" in reset.stdout


def test_stats_counts_as_json(migrated):
    result = run([PATRON, "stats", "--json"], migrated)

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "customers": 0,
        "identities": 0,
        "companies": 0,
        "events": 0,
        "orders": 0,
        "order_lines": 0,
        "products": 0,
        "ingestion_warnings": 0,
    }


def test_serve_keeps_write_keys_out_of_the_access_log(migrated):
    created = json.loads(run([PATRON, "source", "create", "Web shop", "--json"], migrated).stdout)
    write_key = created["write_key"]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [PATRON, "serve", "--port", str(port), "--workers", "1"],
        env=migrated,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        body = json.dumps(
            {"batch": [{"type": "track", "event": "Viewed", "userId": "u1"}]}
        ).encode()
        status = None
        for _attempt in range(200):  # the server takes a moment to bind; each try waits up to 0.1 s
            try:
                response = requests.post(
                    f"http://127.0.0.1:{port}/v1/batch", data=body, auth=(write_key, ""), timeout=5
                )
                status = response.status_code
                break
            except requests.ConnectionError:
                server_wait = server.poll()
                assert server_wait is None, "patron serve exited"
                select.select([], [], [], 0.1)
        requests.get(f"http://127.0.0.1:{port}/v1/projects/{write_key}/settings", timeout=5)
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=30)

    assert status == 200
    assert "POST /v1/batch" in output
    assert write_key not in output
