"""Data in: sources and their write keys, the live event debugger, CSV import."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, cast

from django import forms
from django.contrib import messages
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django_htmx.http import HttpResponseClientRefresh

from patron.accounts import selectors as account_selectors
from patron.accounts.permissions import Permission
from patron.accounts.services.keys import source_create, source_revoke
from patron.core import clock
from patron.core.errors import NotFound, PatronError
from patron.core.pagination import DEFAULT_PAGE_SIZE, ModelT, Page, keyset_page
from patron.events import selectors as event_selectors
from patron.events.models import Event, ImportMode, ImportStatus
from patron.events.services import imports
from patron.web.access import requires, staff_actor, staff_user
from patron.web.forms.data import (
    EventFilterForm,
    ImportFilterForm,
    ImportMappingForm,
    ImportStartForm,
    ImportUploadForm,
    SourceCreateForm,
    SourceFilterForm,
    WarningFilterForm,
)
from patron.web.pages import is_htmx, service_errors_show

# The debugger shows this many events and warnings: enough to follow a test session.
LIVE_LIMIT = 50
ACTIVITY_WINDOW = timedelta(hours=24)
PROBLEM_PAGE_SIZE = 50


def _page(
    queryset: QuerySet[ModelT],
    request: HttpRequest,
    form: Any,
    *,
    limit: int = DEFAULT_PAGE_SIZE,
    newest_first: bool = True,
) -> Page[ModelT]:
    """The page the request's cursor points at; a cursor we did not issue shows the first
    page, with the reason above the filters."""
    try:
        return keyset_page(
            queryset, cursor=request.GET.get("cursor"), limit=limit, newest_first=newest_first
        )
    except PatronError as error:
        form.add_error(None, error.message)
        return keyset_page(queryset, cursor=None, limit=limit, newest_first=newest_first)


# Sources.


@dataclass(frozen=True)
class Snippets:
    """Code to send events here, filled with this installation's address and a write key."""

    browser: str
    browser_fetch: str
    python: str
    node: str


def _snippets(request: HttpRequest, write_key: str) -> Snippets:
    base = request.build_absolute_uri("/").rstrip("/")
    protocol, _, host = base.partition("://")
    return Snippets(
        browser=(
            "import { AnalyticsBrowser } from '@segment/analytics-next'\n\n"
            "export const analytics = AnalyticsBrowser.load({\n"
            f"  writeKey: '{write_key}',\n"
            "  cdnSettings: {\n"
            "    integrations: {\n"
            "      'Segment.io': {\n"
            f"        apiKey: '{write_key}',\n"
            f"        apiHost: '{host}/v1',\n"
            f"        protocol: '{protocol}',\n"
            "      },\n"
            "    },\n"
            "  },\n"
            "})\n"
            "analytics.page()\n"
            "analytics.identify('user-42', { email: 'ana@example.com' })"
        ),
        browser_fetch=(
            f"fetch('{base}/v1/batch', {{\n"
            "  method: 'POST',\n"
            "  headers: {\n"
            "    'Content-Type': 'application/json',\n"
            f"    Authorization: 'Basic ' + btoa('{write_key}:'),\n"
            "  },\n"
            "  body: JSON.stringify({\n"
            "    batch: [{\n"
            "      type: 'track',\n"
            "      event: 'Signed Up',\n"
            "      userId: 'user-42',\n"
            "      properties: { plan: 'pro' },\n"
            "      messageId: crypto.randomUUID(),\n"
            "      timestamp: new Date().toISOString(),\n"
            "    }],\n"
            "    sentAt: new Date().toISOString(),\n"
            "  }),\n"
            "})"
        ),
        python=(
            "import segment.analytics as analytics\n\n"
            f'analytics.write_key = "{write_key}"\n'
            f'analytics.host = "{base}"\n\n'
            'analytics.identify("user-42", {"email": "ana@example.com", "firstName": "Ana"})\n'
            'analytics.track("user-42", "Signed Up", {"plan": "pro"})\n'
            "analytics.flush()"
        ),
        node=(
            "import { Analytics } from '@segment/analytics-node'\n\n"
            "const analytics = new Analytics({\n"
            f"  writeKey: '{write_key}',\n"
            f"  host: '{base}',\n"
            "  path: '/v1/batch',\n"
            "})\n"
            "analytics.track({\n"
            "  userId: 'user-42',\n"
            "  event: 'Signed Up',\n"
            "  properties: { plan: 'pro' },\n"
            "})\n"
            "await analytics.closeAndFlush()"
        ),
    )


@requires(Permission.DATA_VIEW)
def source_list(request: HttpRequest) -> HttpResponse:
    form = SourceFilterForm(request.GET or None)
    data = form.cleaned_data if form.is_valid() else {}
    status = data.get("status") or ""
    filters = account_selectors.SourceFilters(
        search=(data.get("q") or "").strip(),
        is_active=None if not status else status == "active",
    )
    page = _page(
        account_selectors.source_list(filters),
        request,
        form,
        newest_first=data.get("order") != "oldest",
    )
    activity = event_selectors.event_activity_by_source(
        [source.pk for source in page.items], since=clock.now() - ACTIVITY_WINDOW
    )
    rows = [(source, activity[source.pk]) for source in page.items]
    template = "web/data/source_list.html" + ("#results" if is_htmx(request) else "")
    return render(
        request,
        template,
        {
            "form": form,
            "page": page,
            "rows": rows,
            "is_filtered": bool(filters.search or status),
        },
    )


@requires(Permission.SOURCES_MANAGE)
def source_new(request: HttpRequest) -> HttpResponse:
    form = SourceCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            created = source_create(name=form.cleaned_data["name"], actor=staff_actor(request))
        except PatronError as error:
            service_errors_show(form, error)
        else:
            # Rendered, not redirected: the key exists only in this answer and is never stored.
            response = render(
                request,
                "web/data/source_created.html",
                {
                    "created": created,
                    "source": account_selectors.source_get(created.id),
                    "snippets": _snippets(request, created.secret),
                },
            )
            response["Cache-Control"] = "no-store"
            return response
    return render(request, "web/data/source_new.html", {"form": form})


@requires(Permission.DATA_VIEW)
def source_detail(request: HttpRequest, source_id: int) -> HttpResponse:
    try:
        source = account_selectors.source_get(source_id)
    except NotFound as error:
        raise Http404(error.message) from error
    activity = event_selectors.event_activity_by_source(
        [source.pk], since=clock.now() - ACTIVITY_WINDOW
    )[source.pk]
    return render(
        request,
        "web/data/source_detail.html",
        {
            "source": source,
            "activity": activity,
            "snippets": _snippets(request, "<your write key>"),
        },
    )


@requires(Permission.SOURCES_MANAGE)
def source_revoke_confirm(request: HttpRequest, source_id: int) -> HttpResponse:
    try:
        source = account_selectors.source_get(source_id)
    except NotFound as error:
        raise Http404(error.message) from error
    if request.method == "POST":
        if source.revoked_at is None:
            source_revoke(source=source, actor=staff_actor(request))
            messages.success(
                request,
                f"The write key of {source.name} is revoked: new events sent with it are "
                "refused (after at most 5 seconds).",
            )
        return redirect("web:source_detail", source_id=source.pk)
    return render(request, "web/data/source_revoke.html", {"source": source})


# The live event debugger.


@dataclass(frozen=True)
class EventRow:
    event: Event
    properties: str
    context: str


def _pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True, default=str)


def _event_rows(events: list[Event]) -> list[EventRow]:
    return [EventRow(event, _pretty(event.properties), _pretty(event.context)) for event in events]


@requires(Permission.DATA_VIEW)
def event_debugger(request: HttpRequest) -> HttpResponse:
    sources = account_selectors.source_choices()
    form = EventFilterForm(request.GET or None, sources=sources)
    data = form.cleaned_data if form.is_valid() else {}
    source_id, event_type = data.get("source"), data.get("type") or None
    after = data.get("after")
    is_paused = request.GET.get("paused") == "1"
    context: dict[str, Any] = {
        "form": form,
        "is_paused": is_paused,
        "filter_query": _query(request, ("source", "type")),
    }
    if is_htmx(request) and request.GET.get("poll") == "1":
        # The poller asks for what arrived after the newest event the page shows.
        events = event_selectors.event_tail(
            source_id=source_id, type=event_type, after_id=after or 0, limit=LIVE_LIMIT
        )
        context["rows"] = _event_rows(events)
        context["newest_id"] = events[0].pk if events else (after or 0)
        return render(request, "web/data/event_debugger.html#poll", context)
    if is_htmx(request) and request.GET.get("toggle") == "1":
        context.update(newest_id=after or 0, oob=True)
        return render(request, "web/data/event_debugger.html#toggle", context)
    events = event_selectors.event_tail(
        source_id=source_id, type=event_type, after_id=None, limit=LIVE_LIMIT
    )
    warning_form = WarningFilterForm(request.GET or None, sources=sources)
    warning_data = warning_form.cleaned_data if warning_form.is_valid() else {}
    warnings = _page(
        event_selectors.ingestion_warning_filtered(
            source_id=warning_data.get("warning_source"), code=warning_data.get("code") or None
        ),
        request,
        warning_form,
        limit=LIVE_LIMIT,
    )
    context.update(
        rows=_event_rows(events),
        newest_id=events[0].pk if events else event_selectors.event_newest_id(),
        warning_form=warning_form,
        page=warnings,
        warning_rows=[
            (warning, event_selectors.ingestion_warning_explanation(warning.code))
            for warning in warnings.items
        ],
        warning_query=_query(request, ("warning_source", "code")),
        is_filtered=bool(source_id or event_type),
    )
    return render(request, "web/data/event_debugger.html", context)


def _query(request: HttpRequest, names: tuple[str, ...]) -> list[tuple[str, str]]:
    """The given parameters of the current query, for hidden inputs of another form."""
    return [(name, request.GET[name]) for name in names if request.GET.get(name)]


# CSV import.


@requires(Permission.DATA_IMPORT)
def import_list(request: HttpRequest) -> HttpResponse:
    # Its own ids: the upload form on the same page has a "kind" field too.
    form = ImportFilterForm(request.GET or None, auto_id="filter_%s")
    data = form.cleaned_data if form.is_valid() else {}
    filters = event_selectors.ImportFilters(
        search=(data.get("q") or "").strip(),
        kind=data.get("kind") or "",
        status=data.get("status") or "",
    )
    page = _page(
        event_selectors.import_run_list(filters),
        request,
        form,
        newest_first=data.get("order") != "oldest",
    )
    template = "web/data/import_list.html" + ("#results" if is_htmx(request) else "")
    return render(
        request,
        template,
        {
            "form": form,
            "page": page,
            "upload_form": ImportUploadForm(),
            "is_filtered": bool(filters.search or filters.kind or filters.status),
        },
    )


@requires(Permission.DATA_IMPORT)
def import_new(request: HttpRequest) -> HttpResponse:
    form = ImportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        uploaded = form.cleaned_data["file"]
        try:
            run = imports.import_upload(
                kind=form.cleaned_data["kind"],
                file_name=uploaded.name,
                chunks=uploaded.chunks(),
                source_name=form.cleaned_data["source_name"],
                actor=staff_actor(request),
                created_by=staff_user(request),
            )
        except PatronError as error:
            service_errors_show(form, error)
        else:
            return redirect("web:import_detail", run_id=run.pk)
    return render(request, "web/data/import_new.html", {"form": form})


def _mapping_form(request: HttpRequest, run: Any, format_name: str) -> ImportMappingForm:
    is_same_format = format_name == run.format_name
    return ImportMappingForm(
        request.POST if request.method == "POST" else None,
        header=run.header,
        targets=imports.import_targets(run.kind, format_name, run.header),
        initial_mapping=run.mapping
        if is_same_format
        else imports.import_mapping_suggest(run.kind, format_name, run.header),
    )


@requires(Permission.DATA_IMPORT)
def import_mapping(request: HttpRequest, run_id: int) -> HttpResponse:
    try:
        run = imports.import_run_get(run_id)
    except NotFound as error:
        raise Http404(error.message) from error
    formats = [candidate.name for candidate in imports.import_formats(run.kind)]
    format_name = request.POST.get("format") or request.GET.get("format") or run.format_name
    if format_name not in formats:
        format_name = run.format_name
    form = _mapping_form(request, run, format_name)
    if request.method == "POST" and form.is_valid():
        try:
            imports.import_run_map(
                run_id=run.pk,
                format_name=format_name,
                mapping=form.mapping(),
                actor=staff_actor(request),
            )
        except PatronError as error:
            service_errors_show(form, error)
        else:
            return redirect("web:import_detail", run_id=run.pk)
    return render(
        request,
        "web/data/import_mapping.html",
        {"run": run, "form": form, "formats": formats, "format_name": format_name},
    )


@requires(Permission.DATA_IMPORT)
def import_detail(request: HttpRequest, run_id: int) -> HttpResponse:
    try:
        run = imports.import_run_get(run_id)
    except NotFound as error:
        raise Http404(error.message) from error
    if run.status == ImportStatus.UPLOADED:
        return redirect("web:import_mapping", run_id=run.pk)
    progress = event_selectors.import_run_progress(run) if run.is_busy else None
    if is_htmx(request) and request.GET.get("poll") == "1":
        if not run.is_busy:
            return HttpResponseClientRefresh()  # done: show the whole result page
        return render(
            request, "web/data/import_detail.html#progress", {"run": run, "progress": progress}
        )
    problems = (
        _page(
            event_selectors.import_problem_list(run.pk),
            request,
            forms.Form(),  # a bad cursor simply shows the first page of problems
            limit=PROBLEM_PAGE_SIZE,
            newest_first=False,
        )
        if run.problem_count
        else None
    )
    duration = (
        run.finished_at - run.started_at
        if run.finished_at is not None and run.started_at is not None
        else None
    )
    return render(
        request,
        "web/data/import_detail.html",
        {
            "run": run,
            "progress": progress,
            "page": problems,
            "duration": duration,
            "good_rows": (run.row_count or 0) - (run.bad_row_count or 0),
            "mapping": [
                (name, field_name) for name, field_name in zip(run.header, run.mapping, strict=True)
            ],
            "can_start": run.status in imports.STARTABLE_STATUSES,
            "modes": ImportMode,
        },
    )


@requires(Permission.DATA_IMPORT)
def import_start(request: HttpRequest, run_id: int) -> HttpResponse:
    if request.method != "POST":
        return redirect("web:import_detail", run_id=run_id)
    form = ImportStartForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose to check the file or to import it.")
        return redirect("web:import_detail", run_id=run_id)
    try:
        imports.import_run_start(
            run_id=run_id,
            mode=form.cleaned_data["mode"],
            actor=staff_actor(request),
            user=staff_user(request),
        )
    except NotFound as error:
        raise Http404(error.message) from error
    except PatronError as error:
        messages.error(request, error.message[:1].upper() + error.message[1:] + ".")
    return redirect("web:import_detail", run_id=run_id)


class _Echo:
    """A file-like object whose write returns the line, for csv.writer in a streamed answer."""

    def write(self, value: str) -> str:
        return value


@requires(Permission.DATA_IMPORT)
def import_rejected(request: HttpRequest, run_id: int) -> HttpResponse:
    try:
        run = imports.import_run_get(run_id)
        rows = event_selectors.import_rejected_rows(run)
        first = next(rows)
    except NotFound as error:
        raise Http404(error.message) from error
    writer = csv.writer(_Echo())

    def lines() -> Any:
        yield "\ufeff"  # so spreadsheets read the file as UTF-8
        yield writer.writerow(first)
        for row in rows:
            yield writer.writerow(row)

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    stem = run.file_name.rsplit(".", 1)[0] or "import"
    safe_stem = "".join(
        character if character.isalnum() or character in "-_" else "_" for character in stem
    )
    response["Content-Disposition"] = f'attachment; filename="{safe_stem[:80]}.rejected.csv"'
    # Streamed, as a file of a million rejected rows should not sit in memory; the pages'
    # decorator is typed for plain answers.
    return cast(HttpResponse, response)


urlpatterns = [
    path("data/sources/", source_list, name="source_list"),
    path("data/sources/new/", source_new, name="source_new"),
    path("data/sources/<int:source_id>/", source_detail, name="source_detail"),
    path("data/sources/<int:source_id>/revoke/", source_revoke_confirm, name="source_revoke"),
    path("data/events/", event_debugger, name="event_debugger"),
    path("data/imports/", import_list, name="import_list"),
    path("data/imports/new/", import_new, name="import_new"),
    path("data/imports/<int:run_id>/", import_detail, name="import_detail"),
    path("data/imports/<int:run_id>/mapping/", import_mapping, name="import_mapping"),
    path("data/imports/<int:run_id>/start/", import_start, name="import_start"),
    path("data/imports/<int:run_id>/rejected.csv", import_rejected, name="import_rejected"),
]
