"""The REST contract: the committed OpenAPI schema, scopes on every operation, offline docs."""

from __future__ import annotations

import difflib
import json
import re
from pathlib import Path
from typing import Any

import pytest
from django.contrib.staticfiles import finders

from patron.accounts.models import Scope
from patron.config.api import openapi_document

SNAPSHOT = Path(__file__).resolve().parent / "openapi.json"
REGENERATE = (
    ".venv/bin/python manage.py export_openapi_schema --api patron.config.api.api "
    "--sorted --indent 2 --output tests/openapi.json"
)
METHODS = {"get", "post", "put", "patch", "delete"}


def live_schema() -> dict[str, Any]:
    return json.loads(openapi_document())


def operations() -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, by_method in live_schema()["paths"].items()
        for method, operation in by_method.items()
        if method in METHODS
    ]


def test_the_live_schema_matches_the_committed_snapshot():
    committed = json.loads(SNAPSHOT.read_text())
    live = live_schema()

    if live != committed:
        diff = "\n".join(
            difflib.unified_diff(
                json.dumps(committed, indent=2, sort_keys=True).splitlines(),
                json.dumps(live, indent=2, sort_keys=True).splitlines(),
                "tests/openapi.json (committed)",
                "live schema",
                lineterm="",
            )
        )
        pytest.fail(
            "The API contract changed. If the change is intended, regenerate the snapshot "
            f"with\n    {REGENERATE}\nand commit it with the change.\n\n{diff[:20_000]}"
        )


def test_every_operation_states_the_scope_it_checks():
    for method, path, operation in operations():
        key_requirement, session_requirement = operation["security"]
        [scope] = key_requirement["ApiKeyAuth"]
        assert session_requirement == {"StaffSessionAuth": [scope]}, (method, path)
        assert scope in Scope.values, (method, path)
        assert f"Scope: `{scope}`;" in operation["description"], (method, path)
        expected = "read" if method == "get" else "write"
        assert scope.endswith(f":{expected}"), (method, path)


def test_every_request_body_refuses_unknown_fields():
    schemas = live_schema()["components"]["schemas"]
    bodies = []
    for _, _, operation in operations():
        if "requestBody" in operation:
            schema = operation["requestBody"]["content"]["application/json"]["schema"]
            # An optional body is "that object or null".
            bodies.extend(
                option["$ref"] for option in schema.get("anyOf", [schema]) if "$ref" in option
            )

    assert len(bodies) == 14
    for reference in bodies:
        assert schemas[reference.rsplit("/", 1)[1]]["additionalProperties"] is False, reference


@pytest.mark.django_db
def test_a_source_write_key_is_refused_by_every_endpoint(client, web_source):
    headers = {"Authorization": f"Bearer {web_source.secret}"}
    answered = []
    for method, path, _ in operations():
        concrete = re.sub(r"\{[^}]+\}", "1", path)
        if method == "get":
            response = client.get(concrete, headers=headers)
        else:
            response = getattr(client, method)(
                concrete, data="{}", content_type="application/json", headers=headers
            )
        answered.append((method, concrete, response.status_code, response.json()["code"]))

    assert len(answered) == 36
    assert {(status, code) for _, _, status, code in answered} == {(401, "unauthorized")}


@pytest.mark.django_db
def test_the_openapi_document_is_served_without_a_key(client):
    response = client.get("/api/openapi.json")

    assert response.status_code == 200
    assert response.json() == live_schema()


def test_the_interactive_docs_load_only_local_assets(client):
    response = client.get("/api/docs")

    page = response.content.decode()
    assert response.status_code == 200
    assert '<script src="/static/ninja/swagger-ui-bundle.js">' in page
    assert '"url": "/api/openapi.json"' in page
    assert '"validatorUrl": null' in page
    assert re.search(r"""(src|href)\s*=\s*["'](https?:)?//""", page) is None
    for asset in ("swagger-ui-bundle.js", "swagger-ui-init.js", "swagger-ui.css"):
        assert finders.find(f"ninja/{asset}") is not None, asset
