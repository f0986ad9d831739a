"""Shared helpers for the sandbox Tally tests: a seeded account, an authenticated client
and a tiny HTTP receiver thread that records what webhooks deliver."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from integrations.sandbox.tally import seed as tally_seed
from integrations.sandbox.tally.catalog import DEMO_API_KEY, OTHER_API_KEY
from tests.fixtures import TALLY_ALL_TYPES

FIXTURE = TALLY_ALL_TYPES
API = "/sandbox/tally/api"
CONTROL = "/sandbox/tally/control"


class Receiver:
    """An HTTP server on 127.0.0.1 that answers each POST with the next queued status."""

    def __init__(self):
        self.requests: list[dict] = []
        self.statuses: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append(
                    {"path": self.path, "headers": dict(self.headers.items()), "body": body}
                )
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(f"receiver says {status}".encode())

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/tally"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def payloads(self) -> list[dict]:
        return [json.loads(r["body"]) for r in self.requests]


def auth(key: str = DEMO_API_KEY) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {key}", "HTTP_TALLY_VERSION": "2025-02-01"}


@pytest.fixture
def tally(db):
    """The seeded sandbox Tally (users, four forms, past submissions)."""
    return tally_seed.seed()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


class Api:
    """Django test client calls with a bearer token."""

    def __init__(self, client, key: str = DEMO_API_KEY):
        self.client, self.key = client, key

    def get(self, path: str, **params):
        return self.client.get(API + path, params, **auth(self.key))

    def post(self, path: str, body: dict | None = None):
        return self.client.post(
            API + path, json.dumps(body or {}), content_type="application/json", **auth(self.key)
        )

    def patch(self, path: str, body: dict):
        return self.client.patch(
            API + path, json.dumps(body), content_type="application/json", **auth(self.key)
        )

    def delete(self, path: str):
        return self.client.delete(API + path, **auth(self.key))


@pytest.fixture
def api(client, tally):
    return Api(client)


@pytest.fixture
def other_api(client, tally):
    return Api(client, OTHER_API_KEY)


def control(client, path: str, body: dict | None = None, method: str = "post"):
    return getattr(client, method)(
        CONTROL + path, json.dumps(body or {}), content_type="application/json"
    )


def register_webhook(api: Api, form_id: str, url: str, **extra) -> dict:
    resp = api.post(
        "/webhooks", {"formId": form_id, "url": url, "eventTypes": ["FORM_RESPONSE"], **extra}
    )
    assert resp.status_code == 201, resp.content
    return resp.json()
