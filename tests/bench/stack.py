"""A real Kickoff stack on loopback for benchmarks and the soak: a fresh PostgreSQL
database, gunicorn serving Kickoff and its sandbox, the outbox dispatcher, Celery workers
on Redis.

Used by `tests.bench.ingest` and `tests.bench.soak`; nothing here runs in the test suite.
Processes are started in their own sessions and stopped by process group.
"""

from __future__ import annotations

import base64
import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
REDIS = os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379/12")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def base_env(db_name: str, port: int, **extra: str) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")},
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "false",
        "SANDBOX": "true",
        "SECRET_KEY": "bench-secret-key-" + "b" * 40,
        "FIELD_ENCRYPTION_KEYS": base64.urlsafe_b64encode(
            b"kickoff-bench-only-key-not-secre"
        ).decode(),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "DATABASE_URL": f"{PG}/{db_name}",
        "CELERY_BROKER_URL": REDIS,
        "CACHE_URL": REDIS.rsplit("/", 1)[0] + "/13",
        "RATE_LIMIT_STORAGE_URL": "memory://",
        "SANDBOX_TALLY_RATE_LIMIT": "0",
        "SANDBOX_TALLYFY_RATE_LIMIT": "0",
        "TALLY_RATE_LIMIT": "100000/minute",
        "TALLYFY_RATE_LIMIT": "100000/minute",
        "LOG_LEVEL": "INFO",
        "CONN_MAX_AGE": "600",
        **extra,
    }


def recreate_database(db_name: str) -> None:
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{db_name}"')


def flush_redis() -> None:
    import redis

    for url in (REDIS, REDIS.rsplit("/", 1)[0] + "/13"):
        redis.Redis.from_url(url).flushdb()


def run(cmd: list[str], env: dict[str, str]) -> None:
    subprocess.run(cmd, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)


class Proc:
    """A child process in its own session (so it and its children stop together)."""

    def __init__(self, cmd: list[str], env: dict[str, str], log: Path):
        self.log = log
        self.proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            env=env,
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()

    def wait_log(self, text: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.log.read_text(errors="replace"):
                return
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.log.name} exited:\n{self.log.read_text()[-2000:]}")
            time.sleep(0.1)
        raise RuntimeError(f"{self.log.name} never said {text!r}")


def gunicorn(env: dict[str, str], port: int, workers: int, log: Path, threads: int = 1) -> Proc:
    proc = Proc(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            str(workers),
            "--threads",
            str(threads),
            "--keep-alive",
            "30",
            "--error-logfile",
            "-",
            "--log-level",
            "warning",
        ],
        env,
        log,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not start:\n{log.read_text()[-2000:]}")


def celery_worker(env: dict[str, str], concurrency: int, log: Path, name: str) -> Proc:
    from tests import pipeline_factories as pf

    proc = Proc(
        [
            sys.executable,
            *pf.celery_worker_args(concurrency=concurrency, level="warning"),
            "-n",
            f"{name}@%h",
        ],
        {**env, "LOG_LEVEL": "WARNING"},
        log,
    )
    time.sleep(3)  # -l warning prints no "ready"; give it time to connect
    if proc.proc.poll() is not None:
        raise RuntimeError(f"worker exited:\n{log.read_text()[-2000:]}")
    return proc


def dispatcher(env: dict[str, str], log: Path) -> Proc:
    """The outbox dispatcher (`manage.py dispatch_deliveries`)."""
    proc = Proc(
        [sys.executable, "manage.py", "dispatch_deliveries"], {**env, "LOG_LEVEL": "INFO"}, log
    )
    proc.wait_log("dispatcher started")
    return proc


def vendor_urls(sandbox_port: int) -> dict[str, str]:
    """Point Kickoff's vendor URLs at a sandbox served by another gunicorn (the sandbox's
    Tally posts webhooks synchronously: on the same sync workers it would starve them)."""
    sandbox = f"http://127.0.0.1:{sandbox_port}/sandbox"
    return {
        "TALLY_API_BASE_URL": f"{sandbox}/tally/api",
        "TALLY_OAUTH_TOKEN_URL": f"{sandbox}/tally/api/oauth/token",
        "TALLYFY_API_BASE_URL": f"{sandbox}/tallyfy/api",
        "TALLYFY_OAUTH_TOKEN_URL": f"{sandbox}/tallyfy/oauth/token",
        "TALLYFY_APP_BASE_URL": f"{sandbox}/tallyfy/app",
    }


def setup_django(env: dict[str, str]) -> None:
    os.environ.update(env)
    import django

    django.setup()


def prepare(db_name: str, port: int, **extra: str) -> dict[str, str]:
    """Fresh database (migrated, sandbox seeded) and empty Redis; returns the env."""
    env = base_env(db_name, port, **extra)
    recreate_database(db_name)
    flush_redis()
    run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], env)
    run([sys.executable, "manage.py", "sandbox_tally_seed"], env)
    run([sys.executable, "manage.py", "sandbox_tallyfy_seed"], env)
    return env


def enabled_support_mapping():
    """The support form → triage template, enabled through the real services (registers
    the signed webhook at the sandbox Tally served by gunicorn). Needs setup_django."""
    from integrations.mappings import mapping_enable
    from integrations.models import Endpoint
    from tests import pipeline_factories as pf

    mapping = pf.support_mapping(tally=pf.tally_connection(), tallyfy=pf.tallyfy_connection())
    mapping_enable(mapping, actor=None)
    return mapping, Endpoint.objects.get()


@contextmanager
def stopping(*procs: Proc):
    try:
        yield
    finally:
        for p in procs:
            p.stop()


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]
