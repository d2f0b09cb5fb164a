"""Production settings: refuse to start unsafely, and pass Django's deployment checks."""

from __future__ import annotations

import sys

from tests.helpers import MANAGE, command_environment, run

SECRET = "x" * 20 + "production-secret-for-the-deployment-check-only-0123456789"


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    environment = command_environment(
        tmp_path, PATRON_ENV="production", PATRON_ALLOWED_HOSTS="crm.example.com"
    )

    result = run([sys.executable, MANAGE, "check"], environment)

    assert result.returncode != 0
    assert "PATRON_SECRET_KEY must be set" in result.stderr


def test_production_refuses_to_start_without_allowed_hosts(tmp_path):
    environment = command_environment(tmp_path, PATRON_ENV="production", PATRON_SECRET_KEY=SECRET)

    result = run([sys.executable, MANAGE, "check"], environment)

    assert result.returncode != 0
    assert "PATRON_ALLOWED_HOSTS must list" in result.stderr


def test_deploy_check_is_clean_in_production(tmp_path):
    environment = command_environment(
        tmp_path,
        PATRON_ENV="production",
        PATRON_SECRET_KEY=SECRET,
        PATRON_ALLOWED_HOSTS="crm.example.com",
    )

    result = run(
        [sys.executable, MANAGE, "check", "--deploy", "--fail-level", "DEBUG"], environment
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_a_malformed_setting_names_the_variable(tmp_path):
    environment = command_environment(tmp_path, PATRON_DEBUG="maybe")

    result = run([sys.executable, MANAGE, "check"], environment)

    assert result.returncode != 0
    assert "PATRON_DEBUG must be true or false" in result.stderr
