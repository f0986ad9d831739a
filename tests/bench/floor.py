"""The ingest benchmark's floor: the cheapest durable write a request can make.

Served by the benchmark's gunicorn beside the real URLs (the settings module
`tests.bench.floor_settings` swaps in this URLconf): `POST /bench/floor` reads the body and
commits a one-column row, nothing else (no lookup, no signature, no parsing, no outbox).
Its throughput against the trivial view is what the ingest ratio target costs on this
machine before the receiver does any work of its own.
"""

from django.db import connection
from django.http import JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from config.urls import urlpatterns as kickoff_urlpatterns

TABLE = "bench_floor"


def create_table() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} (id bigserial PRIMARY KEY)")


@csrf_exempt
def floor(request):
    request.body  # read, as the receiver reads it
    with connection.cursor() as cursor:  # autocommit: committed when execute returns
        cursor.execute(f"INSERT INTO {TABLE} DEFAULT VALUES")
    return JsonResponse({"status": "stored"})


urlpatterns = [path("bench/floor", floor), *kickoff_urlpatterns]
