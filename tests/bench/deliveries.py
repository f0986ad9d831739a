"""Bench: the Deliveries pages over 1,000,000 deliveries and 3,000,000 attempts.

Targets (issue 7): the first page, a filtered page (status + mapping + date range), a
search, and a delivery page each render in ≤ 100 ms of server time at p95, with a bounded
number of queries; a bulk retry of 100,000 deliveries is accepted in ≤ 5 s (the job and its
items recorded; nothing launched).

PostgreSQL: give `DATABASE_URL` (the database is created if missing, migrated, and its
delivery tables are **emptied and reseeded** with INSERT … SELECT generate_series, two to
three minutes; `BENCH_KEEP_SEED=1` reuses an earlier seed). Without it, a temporary SQLite file with a tenth of the rows (SQLite has no
generate_series and no trigram index; its figures are indicative only).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/kickoff_bench_deliveries \\
        .venv/bin/python -m tests.bench.run tests.bench.deliveries
"""  # noqa: E501

from __future__ import annotations

import os
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path

RUNS = 40
TARGET_MS = 100.0
BULK_TARGET_S = 5.0
PG_DELIVERIES = 1_000_000
SQLITE_DELIVERIES = 100_000
ATTEMPTS_PER_DELIVERY = 3
MAPPINGS = 10
WORDS = [
    "export",
    "billing",
    "invoice",
    "printer",
    "login",
    "password",
    "refund",
    "upgrade",
    "onboarding",
    "timeout",
    "crash",
    "scanner",
    "laptop",
    "vpn",
    "calendar",
    "shipping",
]


def _environment(tmp: Path) -> None:
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{tmp / 'bench.sqlite3'}")
    os.environ["DEBUG"] = "true"
    os.environ["SANDBOX"] = "false"
    os.environ["ALLOWED_HOSTS"] = "127.0.0.1,localhost,testserver"
    os.environ["CACHE_URL"] = "locmemcache://"
    os.environ["LOG_LEVEL"] = "WARNING"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


def _ensure_pg_database(url: str) -> None:
    from urllib.parse import urlparse

    import psycopg

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin = parsed._replace(path="/postgres").geturl().replace("postgres://", "postgresql://", 1)
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def _base_rows():
    """A staff user, two connections, MAPPINGS mappings with a version each."""
    from django.contrib.auth import get_user_model

    from integrations.models import Connection, Mapping, MappingVersion, Provider

    user, _ = get_user_model().objects.get_or_create(
        username="bench", defaults={"is_staff": True, "is_superuser": True}
    )
    tally, _ = Connection.objects.get_or_create(
        provider=Provider.TALLY,
        external_id="bench-tally",
        defaults={"label": "bench tally", "auth_kind": "api_key", "access_token": "x"},
    )
    tallyfy, _ = Connection.objects.get_or_create(
        provider=Provider.TALLYFY,
        external_id="bench-org",
        defaults={"label": "bench org", "auth_kind": "api_key", "access_token": "x"},
    )
    mappings = []
    for i in range(MAPPINGS):
        m, created = Mapping.objects.get_or_create(
            name=f"Bench mapping {i}",
            defaults=dict(
                tally_connection=tally,
                form_id=f"F{i}",
                form_name=f"Form {i}",
                tallyfy_connection=tallyfy,
                template_id="T",
                status="enabled",
            ),
        )
        if created or not m.current_version_id:
            v = MappingVersion.objects.create(
                mapping=m, number=1, name_template="Ticket", template_fields=[], form_questions=[]
            )
            m.current_version = v
            m.save(update_fields=["current_version"])
        mappings.append(m)
    return user, tally, mappings


STATUS_SQL = """CASE WHEN g % 100 < 10 THEN 'failed' WHEN g % 100 < 13 THEN 'retrying'
  WHEN g % 100 < 15 THEN 'held' WHEN g % 100 = 15 THEN 'pending'
  WHEN g % 100 = 16 THEN 'cancelled' ELSE 'succeeded' END"""


def _seed_postgres(n: int, tally_id: int, mappings) -> None:
    from django.db import connection

    first_mapping = mappings[0].pk
    first_version = mappings[0].current_version_id
    words = "ARRAY[" + ",".join(f"'{w}'" for w in WORDS) + "]"
    with connection.cursor() as c:
        c.execute(
            "TRUNCATE integrations_bulkretryitem, integrations_bulkretry, "
            "integrations_deliveryattempt, integrations_delivery, integrations_submission "
            "RESTART IDENTITY CASCADE"
        )
        c.execute(f"""
            INSERT INTO integrations_submission (tally_connection_id, event_id, form_id,
              submission_id, respondent_id, form_name, raw_body, headers, search_text,
              source, submitted_at, received_at)
            SELECT {tally_id}, 'ev' || g, 'F' || (g % {MAPPINGS}), 's' || to_hex(g),
              'r' || (g % 200000), 'Form ' || (g % {MAPPINGS}),
              convert_to(jsonb_build_object('eventId', 'ev' || g, 'eventType', 'FORM_RESPONSE',
                'data', jsonb_build_object('fields', jsonb_build_array(jsonb_build_object(
                  'key', 'question_a', 'label', 'Email', 'type', 'INPUT_EMAIL',
                  'value', 'user' || g || '@example.com'))))::text, 'UTF8'),
              '{{}}'::jsonb,
              'user' || g || '@example.com · ' || ({words})[1 + g % {len(WORDS)}] || ' problem '
                || ({words})[1 + (g / 7) % {len(WORDS)}] || ' · ' || md5(g::text),
              'webhook', now() - g * interval '30 seconds', now() - g * interval '30 seconds'
            FROM generate_series(1, {n}) g""")
        c.execute(f"""
            INSERT INTO integrations_delivery (submission_id, mapping_id, mapping_version_id,
              status, attempt_count, next_attempt_at, lease_until, outcome_unknown, run_id,
              run_url, last_error, last_status_code, candidates, created_at, updated_at)
            SELECT g, {first_mapping} + (g % {MAPPINGS}), {first_version} + (g % {MAPPINGS}),
              {STATUS_SQL}, {ATTEMPTS_PER_DELIVERY},
              CASE WHEN g % 100 BETWEEN 10 AND 12 THEN now() + interval '10 minutes' END, NULL,
              false,
              CASE WHEN g % 100 >= 17 THEN 'run' || g ELSE '' END,
              CASE WHEN g % 100 >= 17 THEN 'https://go.tallyfy.com/x/processes/run' || g ELSE '' END,
              CASE WHEN g % 100 < 17 THEN 'Tallyfy answered 500: Server Error' ELSE '' END,
              CASE WHEN g % 100 < 17 THEN 500 ELSE 201 END, '[]'::jsonb,
              now() - g * interval '30 seconds', now() - g * interval '30 seconds'
            FROM generate_series(1, {n}) g""")  # noqa: E501
        c.execute(f"""
            INSERT INTO integrations_deliveryattempt (delivery_id, number, mapping_version_id,
              trigger, started_at, finished_at, duration_ms, request_body, response_status,
              response_body, outcome, error_kind, error_message)
            SELECT d, a, {first_version} + (d % {MAPPINGS}), 'auto',
              now() - d * interval '30 seconds' + a * interval '1 minute',
              now() - d * interval '30 seconds' + a * interval '1 minute' + interval '200 ms',
              200, '{{"checklist_id":"T","name":"Ticket"}}'::jsonb,
              CASE WHEN a < {ATTEMPTS_PER_DELIVERY} OR d % 100 < 17 THEN 500 ELSE 201 END,
              'body', CASE WHEN a < {ATTEMPTS_PER_DELIVERY} OR d % 100 < 17 THEN 'retry'
              ELSE 'succeeded' END, '', ''
            FROM generate_series(1, {n}) d CROSS JOIN generate_series(1, {ATTEMPTS_PER_DELIVERY}) a""")  # noqa: E501
        for table in (
            "integrations_submission",
            "integrations_delivery",
            "integrations_deliveryattempt",
        ):
            c.execute(f"ANALYZE {table}")


def _seed_sqlite(n: int, tally, mappings) -> None:
    from django.db import transaction
    from django.utils import timezone

    from integrations.models import Delivery, DeliveryAttempt, Submission

    now = timezone.now()
    statuses = {
        range(0, 10): "failed",
        range(10, 13): "retrying",
        range(13, 15): "held",
        range(15, 16): "pending",
        range(16, 17): "cancelled",
        range(17, 100): "succeeded",
    }

    def status(g):
        return next(s for r, s in statuses.items() if g % 100 in r)

    Delivery.objects.all().delete()
    Submission.objects.all().delete()
    batch = 5000
    with transaction.atomic():
        for start in range(1, n + 1, batch):
            gs = range(start, min(n + 1, start + batch))
            subs = Submission.objects.bulk_create(
                Submission(
                    tally_connection=tally,
                    event_id=f"ev{g}",
                    form_id=f"F{g % MAPPINGS}",
                    submission_id=f"s{g:08x}",
                    respondent_id=f"r{g % 200000}",
                    form_name=f"Form {g % MAPPINGS}",
                    raw_body=b'{"eventId":"x","data":{"fields":[]}}',
                    search_text=f"user{g}@example.com · {WORDS[g % len(WORDS)]} problem",
                    submitted_at=now - timedelta(seconds=30 * g),
                    received_at=now - timedelta(seconds=30 * g),
                )
                for g in gs
            )
            ds = Delivery.objects.bulk_create(
                Delivery(
                    submission=s,
                    mapping=mappings[g % MAPPINGS],
                    mapping_version_id=mappings[g % MAPPINGS].current_version_id,
                    status=status(g),
                    attempt_count=ATTEMPTS_PER_DELIVERY,
                    last_error="Tallyfy answered 500" if g % 100 < 17 else "",
                    last_status_code=500 if g % 100 < 17 else 201,
                    created_at=now - timedelta(seconds=30 * g),
                )
                for g, s in zip(gs, subs, strict=True)
            )
            DeliveryAttempt.objects.bulk_create(
                DeliveryAttempt(
                    delivery=d,
                    number=a,
                    trigger="auto",
                    outcome="retry",
                    response_status=500,
                    duration_ms=200,
                    request_body={"name": "Ticket"},
                )
                for d in ds
                for a in range(1, ATTEMPTS_PER_DELIVERY + 1)
            )


def _measure(client, path, params=None, headers=None) -> tuple[float, float, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(path, params or {}, headers=headers)  # warm
    times = []
    queries = 0
    for _ in range(RUNS):
        with CaptureQueriesContext(connection) as ctx:
            start = time.perf_counter()
            response = client.get(path, params or {}, headers=headers)
            times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (path, response.status_code)
        queries = max(queries, len(ctx.captured_queries))
    times.sort()
    return statistics.median(times), times[int(0.95 * (len(times) - 1))], queries


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="kickoff-bench-deliveries-"))
    _environment(tmp)
    url = os.environ["DATABASE_URL"]
    postgres = url.startswith(("postgres://", "postgresql://"))
    if postgres:
        _ensure_pg_database(url)

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)

    from django.test import Client
    from django.utils import timezone

    from integrations import retries
    from integrations.models import BulkRetry, BulkRetryItem, Delivery
    from integrations.selectors.deliveries import encode_cursor

    n = PG_DELIVERIES if postgres else SQLITE_DELIVERIES
    user, tally, mappings = _base_rows()
    started = time.perf_counter()
    if postgres and os.environ.get("BENCH_KEEP_SEED") and Delivery.objects.count() == n:
        print("BENCH_KEEP_SEED: reusing the rows already seeded")
    elif postgres:
        _seed_postgres(n, tally.pk, mappings)
    else:
        print(
            f"SQLite: seeding {n:,} deliveries (not 1,000,000): give DATABASE_URL for "
            "the real figures"
        )
        _seed_sqlite(n, tally, mappings)
    seeded = time.perf_counter() - started
    print(
        f"seeded {n:,} deliveries and {n * ATTEMPTS_PER_DELIVERY:,} attempts in {seeded:.1f} s "
        f"({'PostgreSQL' if postgres else 'SQLite'})"
    )

    client = Client()
    client.force_login(user)
    today = timezone.localdate()
    mapping = mappings[3]
    some = (
        Delivery.objects.filter(status="failed")
        .order_by("-pk")
        .values_list("pk", flat=True)[n // 200]
    )
    cases = [
        ("first page", "/deliveries/", {}),
        (
            "filtered: failed + mapping + 30-day range",
            "/deliveries/",
            {
                "status": "failed",
                "mapping": mapping.pk,
                "date_from": (today - timedelta(days=90)).isoformat(),
                "date_to": (today - timedelta(days=60)).isoformat(),
            },
        ),
        ("search: an email", "/deliveries/", {"q": f"user{n // 3}@example.com"}),
        ("search: a word", "/deliveries/", {"q": "scanner"}),
        ("search: part of an email", "/deliveries/", {"q": f"user{n // 5}@example"}),
        ("search: a domain (every row)", "/deliveries/", {"q": "example.com"}),
        ("search: a Tallyfy run id", "/deliveries/", {"q": f"run{n // 200 * 100 + 50}"}),
        (
            "search: a Kickoff reference line",
            "/deliveries/",
            {"q": f"Kickoff reference: {Delivery(pk=some).marker}"},
        ),
        ("delivery page", f"/deliveries/{some}/", {}),
        # The triage list (issue 16): #id, error text, and the polls of an open list.
        ("search: #id", "/deliveries/", {"q": f"#{some}"}),
        ("search: error text (every error row)", "/deliveries/", {"q": "Server Error"}),
        ("search: error text, no match", "/deliveries/", {"q": "quota exceeded"}),
        (
            "search: error text + failed + mapping",
            "/deliveries/",
            {"q": "Server Error", "status": "failed", "mapping": mapping.pk},
        ),
    ]
    top = Delivery.objects.order_by("-created_at", "-id").values_list("created_at", "pk")[0]
    htmx = {"HX-Request": "true"}
    polls = [
        ("poll: chips re-count", "/deliveries/", {"part": "counts"}, htmx),
        (
            "poll: new deliveries (none)",
            "/deliveries/newer/",
            {"since": encode_cursor(*top)},
            htmx,
        ),
        (
            "poll: new deliveries (99+, a day behind)",
            "/deliveries/newer/",
            {"since": encode_cursor(top[0] - timedelta(days=1), 0)},
            htmx,
        ),
        ("poll: one row", f"/deliveries/{some}/row/", {}, htmx),
    ]
    results = []
    for label, path, params, *headers in [*cases, *polls]:
        p50, p95, queries = _measure(client, path, params, headers[0] if headers else None)
        ok = "ok" if p95 <= TARGET_MS else "OVER"
        results.append((label, p50, p95, queries, ok))
        print(f"{label:44s} p50 {p50:7.1f} ms   p95 {p95:7.1f} ms   {queries:2d} queries   {ok}")

    # Bulk retry of 100,000: accepting = the job + its items, no launch.
    retries.task_publish = lambda *a, **k: True
    failed = Delivery.objects.filter(status="failed")
    start = time.perf_counter()
    job = retries.bulk_retry_start(
        failed, user=user, description="bench", filters={}, use_current_version=False
    )
    bulk_s = time.perf_counter() - start
    ok = "ok" if bulk_s <= BULK_TARGET_S else "OVER"
    print(f"bulk retry of {job.total:,} accepted in {bulk_s:.2f} s   {ok}")
    # Its progress page once every item was retried: the outcome counts group them all.
    BulkRetryItem.objects.filter(bulk=job).update(retried=True)
    BulkRetry.objects.filter(pk=job.pk).update(retried=job.total, done=job.total)
    job.refresh_from_db()
    if postgres:
        from django.db import connection

        with connection.cursor() as c:
            c.execute("VACUUM ANALYZE integrations_bulkretryitem")
    recount = []
    for _ in range(10):
        start = time.perf_counter()
        retries.bulk_retry_count_outcomes(job)
        recount.append((time.perf_counter() - start) * 1000)
    recount.sort()
    print(f"outcomes of {job.total:,} recounted: p50 {statistics.median(recount):.1f} ms")
    progress = _measure(client, f"/deliveries/bulk/{job.pk}/", {}, headers={"HX-Request": "true"})
    ok = "ok" if progress[1] <= TARGET_MS else "OVER"
    results.append((f"bulk progress ({job.total:,} retried; outcomes cached)", *progress, ok))
    print(f"{results[-1][0]:44s} p50 {progress[0]:7.1f} ms   p95 {progress[1]:7.1f} ms   {ok}")
    BulkRetry.objects.filter(pk=job.pk).delete()
    _write_doc(postgres, n, seeded, results, job.total, bulk_s, statistics.median(recount))


def _write_doc(postgres, n, seeded, results, bulk_total, bulk_s, recount_ms) -> None:
    """Append (or replace) the "Deliveries" section of docs/benchmarks.md."""
    doc = Path(__file__).resolve().parents[2] / "docs" / "benchmarks.md"
    engine = "PostgreSQL" if postgres else "SQLite (reduced size)"
    lines = [
        "## Deliveries",
        "",
        f"{n:,} deliveries, {n * ATTEMPTS_PER_DELIVERY:,} attempts, {engine}; "
        f"seeded in {seeded:.0f} s; server time through Django's test client, {RUNS} runs each.",
        "",
        "    DATABASE_URL=postgres://postgres@127.0.0.1:5432/kickoff_bench_deliveries \\",
        "        .venv/bin/python -m tests.bench.run tests.bench.deliveries",
        "",
        "| Page | p50 | p95 | queries | target ≤ 100 ms |",
        "|---|---|---|---|---|",
        *(
            f"| {label} | {p50:.1f} ms | {p95:.1f} ms | {q} | {ok} |"
            for label, p50, p95, q, ok in results
        ),
        "",
        f"Bulk retry of {bulk_total:,} deliveries accepted in {bulk_s:.2f} s (target ≤ 5 s).",
        "",
        "Search: a Tallyfy run id through the index `delivery_by_run`; a Kickoff reference "
        "(the whole summary line or the marker) parsed to one delivery id; parts of an e-mail "
        'address ("rivera@acme", "example.com") as phrases over `submission_search_parts` '
        "(migration 0012, which replaced `submission_search_fts` and runs ANALYZE: without "
        "the expression's statistics the domain every row has took 12 s).",
        "",
        "Error text (`Delivery.last_error`, no text index) is searched among the newest "
        "`ERROR_SEARCH_WINDOW` deliveries with an error that match the other filters (one "
        "bounded index scan, then a LIKE over at most that many rows), and not at all for a "
        "`#id`, an e-mail, a reference or an id-like token. The list's polls: the chips' "
        "counts (every 5 s while a row shown is in flight or retrying), the capped count of "
        "rows newer than the first one shown (every 5 s), one row.",
        "",
        f"Its progress page counts where the {bulk_total:,} deliveries it retried stand now "
        f"(one grouped query: {recount_ms:.0f} ms at p50); above "
        "`retries.OUTCOMES_CACHED_FROM` retried deliveries that count is cached for "
        "`OUTCOMES_REFRESH_SECONDS`, so the polled page costs what the row above says.",
        "",
    ]
    section = "\n".join(lines)
    text = doc.read_text() if doc.exists() else "# Benchmarks\n\n"
    if "## Deliveries" in text:
        head, _, rest = text.partition("## Deliveries")
        after = rest.split("\n## ", 1)
        text = head + section + (("\n## " + after[1]) if len(after) > 1 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    doc.write_text(text)
    print(f"wrote {doc}")
