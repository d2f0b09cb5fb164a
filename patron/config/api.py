"""The one NinjaAPI under /api/: each app adds its router; errors are always {code, message}."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.urls import URLPattern, URLResolver, re_path
from ninja import NinjaAPI, Router, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.openapi.docs import Swagger
from ninja.openapi.schema import OpenAPISchema
from ninja.operation import Operation
from ninja.responses import NinjaJSONEncoder

from patron import __version__
from patron.accounts.auth import ApiKeyAuth, StaffSessionAuth
from patron.accounts.models import Scope
from patron.catalog import api as catalog_api
from patron.core.api import PageQuery
from patron.core.errors import PatronError, ValidationFailed
from patron.customers import api as customers_api
from patron.events import api as events_api
from patron.insights import api as insights_api
from patron.orders import api as orders_api

logger = logging.getLogger(__name__)

_STATUS_CODES = {
    400: "invalid_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    429: "too_many_requests",
}


class ErrorOut(Schema):
    """Every error the API answers: a stable machine-readable code and a sentence for people."""

    code: str
    message: str


@dataclass(frozen=True)
class Resource:
    """One router mounted under a path, guarded by API keys with its read and write scopes."""

    prefix: str
    router: Router
    auth: ApiKeyAuth

    @property
    def authentication(self) -> list[ApiKeyAuth | StaffSessionAuth]:
        """An API key, or the session of a signed-in staff member whose role has the scope."""
        return [self.auth, StaffSessionAuth(self.auth)]


_customer_scopes = ApiKeyAuth(read=Scope.CUSTOMERS_READ, write=Scope.CUSTOMERS_WRITE)
_catalog_scopes = ApiKeyAuth(read=Scope.CATALOG_READ, write=Scope.CATALOG_WRITE)
_order_scopes = ApiKeyAuth(read=Scope.ORDERS_READ, write=Scope.ORDERS_WRITE)
_event_scopes = ApiKeyAuth(read=Scope.EVENTS_READ)
_insight_scopes = ApiKeyAuth(read=Scope.INSIGHTS_READ, write=Scope.INSIGHTS_WRITE)

RESOURCES = (
    Resource("customers", customers_api.customers_router, _customer_scopes),
    Resource("companies", customers_api.companies_router, _customer_scopes),
    Resource("attributes", customers_api.attributes_router, _customer_scopes),
    Resource("products", catalog_api.router, _catalog_scopes),
    Resource("orders", orders_api.router, _order_scopes),
    Resource("events", events_api.events_router, _event_scopes),
    Resource("ingestion-warnings", events_api.warnings_router, _event_scopes),
    # Under a customer's path, but guarded by the insights scopes: the longest prefix wins.
    Resource(
        "customers/{customer_id}/insights",
        insights_api.customer_insights_router,
        _insight_scopes,
    ),
    Resource("insights", insights_api.router, _insight_scopes),
)


def _resource_auth(path: str) -> ApiKeyAuth | None:
    """The scopes of the resource mounted at the longest prefix of this path (no slashes)."""
    mounted = [
        resource
        for resource in RESOURCES
        if path == resource.prefix or path.startswith(f"{resource.prefix}/")
    ]
    return max(mounted, key=lambda resource: len(resource.prefix)).auth if mounted else None


class PatronApi(NinjaAPI):
    """NinjaAPI whose OpenAPI names each operation's scope and whose URLs always answer JSON."""

    def get_openapi_operation_id(self, operation: Operation) -> str:
        # Handler names are unique across the apps (customer_list, order_refund …), which
        # gives generated clients short method names.
        return operation.view_func.__name__

    def get_openapi_schema(
        self, *, path_prefix: str | None = None, path_params: dict[str, Any] | None = None
    ) -> OpenAPISchema:
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        root = path_prefix if path_prefix is not None else self.get_root_path(path_params or {})
        schema["components"]["schemas"]["Error"] = ErrorOut.model_json_schema()
        for path, operations in schema["paths"].items():
            auth = _resource_auth(path.removeprefix(root).strip("/"))
            if auth is None:
                continue
            for method, operation in operations.items():
                _describe_scope(operation, auth.scope_for(method), has_path_id="{" in path)
        return schema

    @property
    def urls(self) -> tuple[list[URLResolver | URLPattern], str, str]:
        patterns, app_name, namespace = super().urls
        wrapped: list[URLResolver | URLPattern] = [
            URLPattern(
                pattern.pattern, _json_errors(pattern.callback), pattern.default_args, pattern.name
            )
            if isinstance(pattern, URLPattern)
            else pattern
            for pattern in patterns
        ]
        # Anything else under /api/ answers like the endpoints do, not with an HTML page.
        wrapped.append(re_path(r"^.*$", _unknown_path, name="unknown"))
        return wrapped, app_name, namespace


def _describe_scope(operation: dict[str, Any], scope: Scope | None, *, has_path_id: bool) -> None:
    note = (
        f"Scope: `{scope}`; from the workspace, a role that includes it (docs/roles.md)."
        if scope
        else "No API key may call this."
    )
    description = operation.get("description", "").strip()
    operation["description"] = f"{description}\n\n{note}" if description else note
    operation["security"] = [
        {"ApiKeyAuth": [str(scope)] if scope else []},
        {"StaffSessionAuth": [str(scope)] if scope else []},
    ]
    error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    responses = operation.setdefault("responses", {})
    statuses = {
        400: "Invalid request: the message names the field",
        401: "No valid API key",
        403: "The API key lacks the scope",
    }
    if has_path_id:
        statuses[404] = "Not found"
    if scope is not None and scope.endswith(":write"):
        statuses[409] = "Conflict with stored data"
    for status, text in statuses.items():
        responses.setdefault(status, {"description": text, **error})


api = PatronApi(
    title="Patron API",
    version=__version__,
    description=(
        "Read and write customers, identities, companies, products and orders; read events. "
        "Authenticate with `Authorization: Bearer <API key>`; "
        "each endpoint names the scope it needs. Errors are `{code, message}`; "
        "lists are `{items, next_cursor}` pages."
    ),
    urls_namespace="api",
    # The bundled Swagger UI (ninja is in INSTALLED_APPS); without a validator it never
    # calls another host, so /api/docs works offline.
    docs=Swagger(settings={"validatorUrl": None}),
)
for resource in RESOURCES:
    api.add_router(f"/{resource.prefix}", resource.router, auth=resource.authentication)


def _reject_unknown_query_parameters(view: Callable[..., Any]) -> Callable[..., Any]:
    """A misspelt filter must fail loudly, not quietly return every row."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        known: set[str] = set()
        for value in kwargs.values():
            if isinstance(value, PageQuery):
                known |= set(type(value).model_fields)
        unknown = sorted(set(request.GET) - known)
        if unknown:
            raise ValidationFailed("is not a known query parameter", field=unknown[0])
        return view(request, *args, **kwargs)

    return wrapped


api.add_decorator(_reject_unknown_query_parameters, mode="operation")


def _json_response(status: int, code: str, message: str) -> HttpResponse:
    """An error answered outside Ninja's handlers (unknown path, wrong method)."""
    body = json.dumps({"code": code, "message": message}).encode()
    return HttpResponse(body, status=status, content_type="application/json")


def _json_errors(view: Callable[..., Any]) -> Callable[..., Any]:
    """Turn the plain-text 405 and the HTML 404 Django answers outside Ninja into JSON."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            response = view(request, *args, **kwargs)
        except Http404:
            return _unknown_path(request)
        if isinstance(response, HttpResponseNotAllowed):
            # Ninja builds the list from a set; sorted, it reads the same on every request.
            allowed = ", ".join(sorted(method.strip() for method in response["Allow"].split(",")))
            replacement = _json_response(
                405,
                "method_not_allowed",
                f"{request.method} is not allowed here; allowed: {allowed}",
            )
            replacement["Allow"] = allowed
            return replacement
        return response

    return wrapped


def _unknown_path(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    hint = " (paths have no trailing slash)" if request.path.endswith("/") else ""
    return _json_response(
        404, "not_found", f"no API endpoint at {request.path}{hint}; see /api/docs"
    )


def _error(request: HttpRequest, status: int, code: str, message: str) -> HttpResponse:
    return api.create_response(request, {"code": code, "message": message}, status=status)


def _named(field: str | None, message: str) -> str:
    """Prefix the field unless the message already starts with it (joined problem lists do)."""
    if not field or re.match(rf"^{re.escape(field)}\b", message):
        return message
    return f"{field}: {message}"


@api.exception_handler(PatronError)
def _patron_error(request: HttpRequest, error: PatronError) -> HttpResponse:
    # A 404 or 409 message already says what is missing or taken; a 400 must name the field.
    message = _named(error.field, error.message) if error.status == 400 else error.message
    return _error(request, error.status, error.code, message)


@api.exception_handler(NinjaValidationError)
def _validation_error(request: HttpRequest, error: NinjaValidationError) -> HttpResponse:
    problems = []
    for item in error.errors:
        # loc is (source, field …) for path and query and (body, parameter name, field …) for
        # the body; people know only the field.
        source, *parts = item.get("loc", ("",))
        if source == "body":
            parts = parts[1:]
        location = _field_path(parts)
        message = (
            "is not a known field" if item.get("type") == "extra_forbidden" else item.get("msg")
        )
        problems.append(f"{location}: {message}" if location else str(message))
    return _error(request, 400, "invalid_request", "; ".join(problems) or "invalid request")


def _field_path(parts: list[Any]) -> str:
    """lines.0.sku becomes lines[1].sku: list items are counted from 1, as the services do."""
    path = ""
    for part in parts:
        if isinstance(part, int):
            path += f"[{part + 1}]"
        else:
            path += f".{part}" if path else str(part)
    return path


@api.exception_handler(AuthenticationError)
def _authentication_error(request: HttpRequest, error: AuthenticationError) -> HttpResponse:
    return _error(
        request, 401, "unauthorized", "a valid API key is required: Authorization: Bearer <key>"
    )


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, error: HttpError) -> HttpResponse:
    code = _STATUS_CODES.get(error.status_code, "error")
    message = str(error)
    if message.startswith("Cannot parse request body"):
        message = "the request body is not valid JSON"
    return _error(request, error.status_code, code, message)


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, error: Http404) -> HttpResponse:
    return _error(request, 404, "not_found", str(error) or "not found")


@api.exception_handler(RequestDataTooBig)
def _too_big(request: HttpRequest, error: RequestDataTooBig) -> HttpResponse:
    return _error(request, 413, "payload_too_large", "the request body is too large")


@api.exception_handler(Exception)
def _unexpected(request: HttpRequest, error: Exception) -> HttpResponse:
    logger.exception("API request failed: %s %s", request.method, request.path)
    return _error(request, 500, "internal_error", "something went wrong on our side")


def openapi_document() -> str:
    """The committed form of the schema: pretty-printed, keys sorted, ending in a newline."""
    schema = api.get_openapi_schema(path_prefix="/api/")
    return json.dumps(schema, cls=NinjaJSONEncoder, indent=2, sort_keys=True) + "\n"
