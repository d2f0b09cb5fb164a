"""Loading the demo shop: catalogue, then customers chunk by chunk, one transaction per chunk."""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from django.db import connection, models, transaction

from patron.accounts.services.audit import audit_record
from patron.accounts.services.keys import source_get_or_create
from patron.catalog.models import Category, Product
from patron.core import clock
from patron.core.actors import Actor
from patron.core.bulk import (
    PreparedRows,
    StagedRows,
    bulk_append_journal,
    indexes_drop,
    indexes_restore,
    rows_prepare,
    rows_stage,
    rows_write,
    staging_attached,
)
from patron.core.progress import ProgressCallback, ignore_progress
from patron.customers import selectors as customer_selectors
from patron.customers.models import Company, CompanyContact, Customer, Identity, Milestone
from patron.demo import shop
from patron.demo.facts import IdAllocator, ShopIds
from patron.demo.generate import Chunk, catalogue_rows, chunk_generate
from patron.demo.load import existing_ids, next_ids, sequences_reset
from patron.events.models import Event
from patron.orders.models import Cart, CartLine, Order, OrderLine, Refund
from patron.orders.services.rollups import rollups_refresh
from patron.privacy.models import ConsentRecord

# Customers generated and written per transaction. 5,000 customers make about 50,000 orders and
# 100,000 events: large enough that commits and per-call overheads vanish, small enough that
# the chunk being written plus the one being generated stay around 200 MB of Python rows.
CHUNK_CUSTOMERS = 5_000
# Names the file where indexes dropped by a load wait (core.bulk.pending_indexes_path).
INDEX_PURPOSE = "demo-data"
# From this size on, secondary indexes are dropped and rebuilt once at the end: updating them
# row by row slows inserts several-fold once tables outgrow the cache (docs/demo-data.md).
BULK_INDEX_THRESHOLD = 100_000

# Columns whose values grow in the order rows are written (parent ids, the load time) and
# columns with a handful of values. An index led by them is only appended to, at a few places,
# which SQLite does in passing while the generator thread is still busy with the next chunk;
# rebuilding it would mean another pass over the whole table. A bulk load keeps those indexes
# and drops the others (random keys such as email or placed_at).
_GROWING_COLUMNS = frozenset(
    {"customer_id", "order_id", "cart_id", "company_id", "created_at", "updated_at"}
)
_FEW_VALUED_COLUMNS = frozenset({"source_id", "product_id", "anonymous_id"})


def _is_appended_to(columns: list[str | None]) -> bool:
    rest = list(columns)
    while rest and rest[0] in _FEW_VALUED_COLUMNS:
        rest.pop(0)
    return not rest or rest[0] in _GROWING_COLUMNS


POPULATION_MODELS: tuple[type[models.Model], ...] = (
    Customer,
    Identity,
    Milestone,
    ConsentRecord,
    Company,
    CompanyContact,
    Order,
    OrderLine,
    Refund,
    Cart,
    CartLine,
    Event,
)
ALL_MODELS: tuple[type[models.Model], ...] = (Category, Product, *POPULATION_MODELS)


@dataclass(frozen=True)
class DemoSummary:
    """What a load wrote, or that it was skipped because customers already existed."""

    is_skipped: bool
    existing_customers: int
    customers: int
    companies: int
    orders: int
    order_lines: int
    events: int
    seconds: float


def demo_data_load(
    *,
    customers: int,
    seed: int,
    is_append: bool = False,
    progress: ProgressCallback = ignore_progress,
) -> DemoSummary:
    """Create the demo shop with `customers` people; skipped if customers exist unless appending.

    The same seed on an empty database gives the same shop (times are relative to now).
    """
    started = time.perf_counter()
    # A load that was killed while its indexes were dropped gets them back first.
    indexes_restore(purpose=INDEX_PURPOSE)
    existing = customer_selectors.customer_count()
    if existing and not is_append:
        return DemoSummary(True, existing, 0, 0, 0, 0, 0, time.perf_counter() - started)
    with bulk_append_journal():
        return _shop_write(
            customers=customers, seed=seed, existing=existing, started=started, progress=progress
        )


def _shop_write(
    *, customers: int, seed: int, existing: int, started: float, progress: ProgressCallback
) -> DemoSummary:
    actor = Actor.system("demo data")
    web = source_get_or_create(name=shop.WEB_SOURCE_NAME, actor=actor)
    back_office = source_get_or_create(name=shop.BACK_OFFICE_SOURCE_NAME, actor=actor)
    now_seconds = int(clock.now().timestamp())
    ids = IdAllocator(next_ids(ALL_MODELS))

    tables, _category_ids, product_ids = catalogue_rows(
        ids=ids,
        existing_categories=existing_ids(Category, "slug"),
        existing_products=existing_ids(Product, "sku"),
        now_seconds=now_seconds,
    )
    with transaction.atomic():
        for rows in tables:
            rows_write(rows_prepare(rows))
    shop_ids = ShopIds(
        web_source_id=web.pk,
        back_office_source_id=back_office.pk,
        product_ids=_aligned_product_ids(product_ids),
    )

    totals = {"companies": 0, "orders": 0, "order_lines": 0, "events": 0}
    is_bulk = customers >= BULK_INDEX_THRESHOLD and customers >= existing
    if is_bulk:
        indexes_drop(POPULATION_MODELS, purpose=INDEX_PURPOSE, is_kept=_is_appended_to)
    try:
        # Foreign keys are not looked up row by row (SQLite; PostgreSQL always checks them):
        # the generator allocates every id it references. Small loads are checked at the end;
        # for large ones that check would cost as much as the load saves, and the tests cover
        # the generator's references instead.
        with connection.constraint_checks_disabled():
            _population_write(
                customers=customers,
                existing=existing,
                seed=seed,
                now_seconds=now_seconds,
                shop_ids=shop_ids,
                ids=ids,
                totals=totals,
                progress=progress,
            )
        if not is_bulk:
            connection.check_constraints(
                table_names=[model._meta.db_table for model in POPULATION_MODELS]
            )
    finally:
        if is_bulk:
            indexes_restore(purpose=INDEX_PURPOSE)
    sequences_reset(ALL_MODELS)
    rollups_refresh(full=True)  # the dashboard's figures, rebuilt from the orders just written
    audit_record(
        actor=actor,
        action="demo_data.loaded",
        subject_type="demo_data",
        subject_id=seed,
        changes={"customers": customers, "seed": seed, **totals},
    )
    # Fresh statistics for the planner: without them PostgreSQL, which has not yet analysed
    # tables millions of rows larger than at its last look, joins order lines by scanning all
    # of them (measured: 0.67 s instead of 0.014 s for one customer's lines at 1 M customers).
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA optimize" if connection.vendor == "sqlite" else "ANALYZE")
    return DemoSummary(
        is_skipped=False,
        existing_customers=existing,
        customers=customers,
        companies=totals["companies"],
        orders=totals["orders"],
        order_lines=totals["order_lines"],
        events=totals["events"],
        seconds=time.perf_counter() - started,
    )


def _aligned_product_ids(product_ids: dict[str, int]) -> np.ndarray:
    return np.array([product_ids[product.sku] for product in shop.PRODUCTS], dtype=np.int64)


@dataclass
class _ReadyChunk:
    """A generated chunk ready to write: its counts and its rows, prepared or staged."""

    counts: dict[str, int]
    prepared: list[PreparedRows]
    staged: StagedRows | None


def _ready(chunk: Chunk, *, is_staged: bool) -> _ReadyChunk:
    prepared = [rows_prepare(rows) for rows in chunk.tables]
    counts = {rows.model.__name__: rows.count for rows in chunk.tables}
    if is_staged:
        return _ReadyChunk(counts, [], rows_stage(prepared))
    return _ReadyChunk(counts, prepared, None)


def _population_write(
    *,
    customers: int,
    existing: int,
    seed: int,
    now_seconds: int,
    shop_ids: ShopIds,
    ids: IdAllocator,
    totals: dict[str, int],
    progress: ProgressCallback,
) -> None:
    """Generate chunk k+1 on a helper thread while chunk k is written on this one.

    Only this thread touches the database (its connection, its transactions). The helper runs
    numpy, builds the Python rows and, on SQLite outside a caller's transaction, stages them
    in memory, so that writing a chunk is a few INSERT ... SELECT statements that run inside
    SQLite without the GIL while the helper works on the next chunk.
    """
    chunk_count = -(-customers // CHUNK_CUSTOMERS)
    is_staged = connection.vendor == "sqlite" and not connection.in_atomic_block

    def generate(index: int) -> _ReadyChunk:
        offset = index * CHUNK_CUSTOMERS
        chunk = chunk_generate(
            seed=seed,
            customer_count=min(CHUNK_CUSTOMERS, customers - offset),
            customers_before=existing + offset,
            now_seconds=now_seconds,
            shop_ids=shop_ids,
            ids=ids,
        )
        return _ready(chunk, is_staged=is_staged)

    done = 0
    progress(0, customers)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="demo-generate") as pool:
        pending: Future[_ReadyChunk] | None = pool.submit(generate, 0) if chunk_count else None
        for index in range(chunk_count):
            assert pending is not None
            ready = pending.result()
            pending = pool.submit(generate, index + 1) if index + 1 < chunk_count else None
            if ready.staged is not None:
                try:
                    with staging_attached(ready.staged) as copy, transaction.atomic():
                        copy()
                finally:
                    ready.staged.close()
            else:
                with transaction.atomic():
                    for rows in ready.prepared:
                        rows_write(rows)
            counts = ready.counts
            done += counts[Customer.__name__]
            totals["companies"] += counts[Company.__name__]
            totals["orders"] += counts[Order.__name__]
            totals["order_lines"] += counts[OrderLine.__name__]
            totals["events"] += counts[Event.__name__]
            progress(done, customers)
