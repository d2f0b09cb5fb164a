"""The one NinjaAPI under /api/: each app adds its router; errors are always {code, message}."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from patron import __version__
from patron.core.errors import PatronError

api = NinjaAPI(
    title="Patron API",
    version=__version__,
    description=(
        "Read and write customers, identities, companies, products and orders; read events. "
        "Authenticate with `Authorization: Bearer <API key>`; "
        "each endpoint names the scope it needs."
    ),
    urls_namespace="api",
)


def _error(request: HttpRequest, status: int, code: str, message: str) -> HttpResponse:
    return api.create_response(request, {"code": code, "message": message}, status=status)


@api.exception_handler(PatronError)
def _patron_error(request: HttpRequest, error: PatronError) -> HttpResponse:
    return _error(request, error.status, error.code, error.message)


@api.exception_handler(NinjaValidationError)
def _validation_error(request: HttpRequest, error: NinjaValidationError) -> HttpResponse:
    problems = []
    for item in error.errors:
        location = ".".join(
            str(part) for part in item.get("loc", ()) if part not in {"body", "payload"}
        )
        problems.append(
            f"{location}: {item.get('msg', 'invalid')}" if location else item.get("msg", "invalid")
        )
    return _error(request, 400, "invalid_request", "; ".join(problems) or "invalid request")


@api.exception_handler(AuthenticationError)
def _authentication_error(request: HttpRequest, error: AuthenticationError) -> HttpResponse:
    return _error(
        request, 401, "unauthorized", "a valid API key is required: Authorization: Bearer <key>"
    )


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, error: HttpError) -> HttpResponse:
    return _error(request, error.status_code, "error", str(error))
