"""The Deliveries page's selectors: filters, search, keyset pages, counts, overview — each in
a bounded number of queries."""

from datetime import timedelta

import pytest
from django.utils import timezone

from integrations.models import Connection, Delivery, Installation
from integrations.selectors import causes, overview
from integrations.selectors import deliveries as q
from tests import pipeline_factories as pf


@pytest.fixture
def mappings(db, task_queue):
    tally, tallyfy = pf.tally_connection(), pf.tallyfy_connection()
    support = pf.support_mapping(tally=tally, tallyfy=tallyfy)
    other = pf.support_mapping(tally=tally, tallyfy=tallyfy, name="Other form", form_id="OTHER1")
    return support, other


def make(
    mapping,
    *,
    status="succeeded",
    ago=timedelta(minutes=5),
    code=None,
    email="ria@example.com",
    problem="The export is broken",
    submission_id=None,
):
    data = pf.envelope(
        form_id=mapping.form_id,
        submission_id=submission_id,
        fields=pf.support_fields(email=email, problem=problem),
    )
    [d] = pf.ingest(mapping, data)
    Delivery.objects.filter(pk=d.pk).update(
        status=status, created_at=timezone.now() - ago, last_status_code=code
    )
    d.refresh_from_db()
    return d


def ids(page):
    return [d.pk for d in page.rows]


def test_the_first_page_is_newest_first(mappings):
    support, _ = mappings
    old = make(support, ago=timedelta(hours=2))
    new = make(support, ago=timedelta(minutes=1))

    assert ids(q.deliveries_page(q.DeliveryFilters())) == [new.pk, old.pk]


def test_keyset_pages_walk_everything_once_even_with_equal_timestamps(mappings):
    support, _ = mappings
    made = [make(support) for _ in range(7)]
    Delivery.objects.update(created_at=timezone.now())  # all at the same instant

    seen, cursor = [], ""
    while True:
        page = q.deliveries_page(q.DeliveryFilters(), cursor=cursor, size=3)
        seen += ids(page)
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    assert seen == sorted((d.pk for d in made), reverse=True)


def test_a_forged_cursor_is_ignored(mappings):
    make(mappings[0])
    assert len(q.deliveries_page(q.DeliveryFilters(), cursor="not-a-cursor!").rows) == 1


def test_filters_by_status_mapping_form_dates_and_http_class(mappings):
    support, other = mappings
    failed = make(support, status="failed", code=500)
    rejected = make(support, status="failed", code=422, ago=timedelta(days=3))
    ok = make(other, status="succeeded", code=201)
    none = make(other, status="retrying", code=None, ago=timedelta(days=40))

    def match(**kw):
        return set(d.pk for d in q.deliveries_page(q.DeliveryFilters(**kw)).rows)

    assert match(status="failed") == {failed.pk, rejected.pk}
    assert match(mapping_id=other.pk) == {ok.pk, none.pk}
    assert match(form_id="OTHER1") == {ok.pk, none.pk}
    assert match(preset="24h") == {failed.pk, ok.pk}
    today = timezone.localdate()
    assert match(date_from=today - timedelta(days=5), date_to=today - timedelta(days=1)) == {
        rejected.pk
    }
    assert match(http="5xx") == {failed.pk}
    assert match(http="4xx") == {rejected.pk}
    assert match(http="2xx") == {ok.pk}
    assert match(http="none") == {none.pk}
    assert match(status="failed", mapping_id=support.pk, preset="24h") == {failed.pk}


def test_search_finds_submission_id_respondent_id_and_answer_text(mappings):
    support, _ = mappings
    by_id = make(support, submission_id="abc123")
    by_text = make(support, problem="Printer on fire in Zürich")
    make(support, problem="Nothing to see")

    def match(text):
        return set(ids(q.deliveries_page(q.DeliveryFilters(q=text))))

    assert match("abc123") == {by_id.pk}
    assert match("printer ON fire") == {by_text.pk}
    assert match("fire zürich printer") == {by_text.pk}  # every word, in any order
    assert match("fire | nothing") == set()  # every word must match; no query syntax
    assert match("resp01") == {d.pk for d in Delivery.objects.all()}  # the respondent id
    assert match("no such words") == set()


def test_counts_per_status_ignore_the_status_filter_and_stop_at_a_cap(mappings):
    support, _ = mappings
    for _ in range(3):
        make(support, status="failed")
    make(support, status="succeeded")

    counts = {c.status: c for c in q.status_counts(q.DeliveryFilters(status="failed"), cap=2)}

    assert counts["failed"].count == 2 and counts["failed"].capped
    assert counts["failed"].shown == "2+"
    assert counts["succeeded"].count == 1 and not counts["succeeded"].capped
    assert q.retryable_count(q.DeliveryFilters()) == 3


def test_the_page_and_counts_take_a_fixed_number_of_queries(
    mappings, django_assert_max_num_queries
):
    support, other = mappings
    for i in range(30):
        make(support if i % 2 else other, status="failed" if i % 3 else "succeeded")
    filters = q.DeliveryFilters(status="failed", mapping_id=support.pk, preset="7d", q="export")

    with django_assert_max_num_queries(2):  # the search, once: answers, then error text
        filters = q.search_resolved(filters)
    with django_assert_max_num_queries(1):
        page = q.deliveries_page(filters, size=10)
        for d in page.rows:  # what a row shows: no query per row
            (d.submission.submission_id, d.mapping.name, d.mapping_version.number)
    with django_assert_max_num_queries(len(q.STATUS_ORDER)):
        q.status_counts(filters)
    assert page.rows and all(d.status == "failed" and d.mapping_id == support.pk for d in page.rows)


def test_a_delivery_page_takes_two_queries(mappings, django_assert_max_num_queries):
    d = make(mappings[0], status="failed")
    with django_assert_max_num_queries(2):
        got = q.delivery_for_page(d.pk)
        q.delivery_attempts(got)
        (got.submission.payload, got.mapping.current_version, got.mapping_version.number)


def test_export_streams_the_filtered_rows(mappings):
    support, other = mappings
    make(support, status="failed")
    make(other, status="succeeded")

    rows = list(q.export_rows(q.DeliveryFilters(status="failed")))

    assert len(rows) == 1 and rows[0][9] == "failed" and rows[0][7] == support.name


def test_overview_stats_sum_up_health(mappings, django_assert_max_num_queries):
    support, _ = mappings
    make(support, status="succeeded", ago=timedelta(hours=1))
    make(support, status="succeeded", ago=timedelta(hours=2))
    make(support, status="failed", ago=timedelta(hours=2))
    make(support, status="failed", ago=timedelta(days=2))
    waiting = make(support, status="pending")
    Delivery.objects.filter(pk=waiting.pk).update(updated_at=timezone.now() - timedelta(minutes=7))
    Connection.objects.filter(pk=support.tallyfy_connection_id).update(
        status=Connection.Status.NEEDS_RECONNECT
    )

    with django_assert_max_num_queries(8):
        stats = overview.overview_stats()

    assert [c.pk for c in stats.connections_needing_attention] == [support.tallyfy_connection_id]
    assert stats.totals_24h["succeeded"] == 2 and stats.totals_24h["failed"] == 1
    assert stats.failure_rate == pytest.approx(1 / 3)
    assert timedelta(minutes=6) < stats.queue_lag < timedelta(minutes=8)
    assert causes.failure_causes()[1] == 2  # failed now, whenever they came in
    assert len(stats.hours) == 24
    chart = stats.chart
    assert sum(chart["datasets"][0]["data"]) == 2 and len(chart["labels"]) == 24


def test_counts_under_a_search_match_the_rows_found(mappings):
    support, other = mappings
    for i in range(9):
        make(support, status="failed" if i % 3 else "succeeded", problem="export broken")
    make(other, status="failed", problem="login slow")
    filters = q.search_resolved(q.DeliveryFilters(q="export"))
    counts = {c.status: c.count for c in q.status_counts(filters)}
    assert counts["failed"] == 6 and counts["succeeded"] == 3 and counts["held"] == 0


def test_queue_lag_is_the_longest_wait_of_a_pending_or_due_delivery(mappings):
    support, _ = mappings
    now = timezone.now()
    assert overview.delivery_queue_lag(now=now) is None

    later = make(support, status="retrying")
    Delivery.objects.filter(pk=later.pk).update(next_attempt_at=now + timedelta(minutes=30))
    assert overview.delivery_queue_lag(now=now) is None  # a retry not yet due is not waiting

    due = make(support, status="retrying")
    Delivery.objects.filter(pk=due.pk).update(next_attempt_at=now - timedelta(minutes=3))
    waiting = make(support, status="pending")
    Delivery.objects.filter(pk=waiting.pk).update(updated_at=now - timedelta(minutes=2))
    assert overview.delivery_queue_lag(now=now) == timedelta(minutes=3)


def found(text):
    filters = q.search_resolved(q.DeliveryFilters(q=text))
    return ids(q.deliveries_page(filters))


def test_search_finds_a_delivery_by_its_tallyfy_run_id(mappings):
    support, _ = mappings
    launched = make(support)
    other = make(support)
    Delivery.objects.filter(pk=launched.pk).update(run_id="3f2a9c0d1e")
    Delivery.objects.filter(pk=other.pk).update(run_id="77aa")

    assert found("3f2a9c0d1e") == [launched.pk]
    assert found(" 3f2a9c0d1e ") == [launched.pk]  # pasted with spaces around it


def test_search_finds_a_delivery_by_its_kickoff_reference_line_or_marker(mappings):
    support, _ = mappings
    wanted = make(support)
    make(support)

    assert found(wanted.marker) == [wanted.pk]
    assert found(f"Kickoff reference: {wanted.marker}") == [wanted.pk]
    assert found(wanted.marker.upper()) == [wanted.pk]


def test_another_installs_reference_finds_nothing_and_says_whose_it_is(mappings):
    support, _ = mappings
    wanted = make(support)
    key = Installation.current().key
    foreign = "0" * len(key) if key != "0" * len(key) else "1" * len(key)
    filters = q.search_resolved(q.DeliveryFilters(q=f"kickoff-{foreign}-delivery-{wanted.pk}"))

    assert ids(q.deliveries_page(filters)) == []
    assert filters.reference.key == foreign and not filters.reference.is_ours
    assert all(c.count == 0 for c in q.status_counts(filters))


@pytest.mark.parametrize(
    "text",
    ["test.com", "rivera@acme", "maria.rivera@acme.test.com", "acme.test.com", "Rivera@ACME"],
)
def test_search_finds_part_of_an_email_address(mappings, text):
    support, _ = mappings
    hit = make(support, email="maria.rivera@acme.test.com")
    make(support, email="ria@example.com")

    assert found(text) == [hit.pk]


def test_answer_words_still_match_anywhere_in_any_order(mappings):
    support, _ = mappings
    hit = make(support, email="ria@example.com", problem="The scanner smokes badly")
    make(support, problem="The printer smokes")

    assert found("smokes scanner") == [hit.pk]
    assert found("scanner example.com") == [hit.pk]
    assert found("scanner nothere.com") == []
