"""A real Celery worker (prefork, on the test's broker and database), fed by a real outbox
dispatcher (`manage.py dispatch_deliveries`), is SIGKILLed while its launch hangs in the
sandbox Tallyfy; the delivery still makes one run, not two."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from integrations import outbox
from integrations.mappings import mapping_enable
from integrations.models import Delivery
from tests import pipeline_factories as pf

pytestmark = pytest.mark.usefixtures("clean_cache")
ROOT = Path(__file__).resolve().parents[2]
LEASE = 6.0
HANG = 4.0


@pytest.fixture
def worker_env(live_kickoff, settings):
    settings.SANDBOX_TALLY_RATE_LIMIT = 0
    settings.SANDBOX_TALLYFY_RATE_LIMIT = 0
    sandbox = f"{live_kickoff}/sandbox"
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": pf.database_url(),
        "PUBLIC_BASE_URL": live_kickoff,
        "TALLY_API_BASE_URL": f"{sandbox}/tally/api",
        "TALLYFY_API_BASE_URL": f"{sandbox}/tallyfy/api",
        "TALLYFY_APP_BASE_URL": f"{sandbox}/tallyfy/app",
        "DELIVERY_LEASE_SECONDS": str(LEASE),
        "HTTP_TIMEOUT_SECONDS": "20",
        "CELERY_TASK_ALWAYS_EAGER": "false",
    }


WORKER = pf.celery_worker_args(concurrency=1, level="info")
DISPATCHER = ["manage.py", "dispatch_deliveries"]


class Worker:
    def __init__(self, env, log: Path, args: list[str] | None = None, ready: str = "ready"):
        self.log = log
        args = args or [*WORKER, "-n", f"kill-test-{os.getpid()}-{time.time_ns()}@%h"]
        self.proc = subprocess.Popen(
            [sys.executable, *args],
            cwd=ROOT,
            env=env,
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.wait_for(ready, 40)

    def wait_for(self, text, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.log.read_text(errors="replace"):
                return
            if self.proc.poll() is not None:
                raise AssertionError(f"worker exited:\n{self.log.read_text()[-3000:]}")
            time.sleep(0.1)
        raise AssertionError(f"worker never said {text!r}:\n{self.log.read_text()[-3000:]}")

    def children(self) -> list[int]:
        pids = []
        for task in Path(f"/proc/{self.proc.pid}/task").iterdir():
            pids += [int(p) for p in (task / "children").read_text().split()]
        return pids

    def kill_child(self):
        [child] = self.children()
        os.kill(child, signal.SIGKILL)

    def kill_all(self):
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)


@pytest.fixture
def start_worker(worker_env, tmp_path):
    """Starts a worker; the first call also starts the outbox dispatcher."""
    started = []

    def start():
        if not started:
            env = {**worker_env, "LOG_LEVEL": "INFO"}
            log = tmp_path / "dispatcher.log"
            started.append(Worker(env, log, DISPATCHER, ready="dispatcher started"))
        worker = Worker(worker_env, tmp_path / f"worker-{len(started)}.log")
        started.append(worker)
        return worker

    yield start
    for process in started:
        process.stop()


@pytest.fixture
def mapping(sandbox_seeded, worker_env):
    mapping = pf.support_mapping(tally=pf.tally_connection(), tallyfy=pf.tallyfy_connection())
    mapping_enable(mapping, actor=None)
    return mapping


def launch_hanging(base):
    httpx.post(
        f"{base}/sandbox/tallyfy/control/faults",
        json={"kind": "hang", "count": 1, "hang_seconds": HANG},
    ).raise_for_status()
    httpx.post(
        f"{base}/sandbox/tally/control/forms/{pf.SUPPORT_FORM_ID}/submissions",
        json={
            "answers": {
                "Your email": "kill@example.com",
                "Category": "Bug",
                "Describe the problem": "Killed",
            }
        },
        timeout=20,
    ).raise_for_status()


def wait_until(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def hanging_in_tallyfy(base):
    """The launch reached the sandbox Tallyfy, which now hangs on it (its switch is used)."""
    return httpx.get(f"{base}/sandbox/tallyfy/control/faults", timeout=20).json()["data"] == []


def in_flight():
    d = Delivery.objects.first()
    return d is not None and d.status == Delivery.Status.SENDING and d.outcome_unknown


def succeeded():
    d = Delivery.objects.first()
    return d is not None and d.status == Delivery.Status.SUCCEEDED


def support_runs(base):
    data = httpx.get(f"{base}/sandbox/tallyfy/control/runs", timeout=20).json()["data"]
    return [r for r in data if r["checklist_id"] == pf.SUPPORT_TRIAGE_ID]


@pytest.mark.timeout(120)
def test_a_pool_process_killed_mid_launch_hands_the_task_back_and_the_run_is_adopted(
    live_kickoff, mapping, start_worker
):
    worker = start_worker()
    launch_hanging(live_kickoff)
    wait_until(in_flight, 20, "the launch to be in flight")
    # Not a fixed pause: on a busy machine the POST can take longer to leave the worker.
    wait_until(lambda: hanging_in_tallyfy(live_kickoff), 20, "the launch to reach Tallyfy")

    worker.kill_child()  # acks_late + reject_on_worker_lost: the message goes back

    wait_until(succeeded, LEASE + HANG + 30, "the delivery to succeed")
    delivery = Delivery.objects.get()
    outcomes = [a.outcome for a in delivery.attempts.order_by("number")]
    assert outcomes == ["unknown", "adopted"], outcomes
    assert delivery.attempts.first().error_kind == "worker_lost"
    [run] = support_runs(live_kickoff)
    assert run["id"] == delivery.run_id


@pytest.mark.timeout(120)
def test_a_whole_worker_killed_mid_launch_is_recovered_by_the_sweep_one_run(
    live_kickoff, mapping, start_worker
):
    worker = start_worker()
    launch_hanging(live_kickoff)
    wait_until(in_flight, 20, "the launch to be in flight")
    # Not a fixed pause: on a busy machine the POST can take longer to leave the worker.
    wait_until(lambda: hanging_in_tallyfy(live_kickoff), 20, "the launch to reach Tallyfy")

    worker.kill_all()  # nobody is left to hand the message back
    start_worker()
    time.sleep(LEASE + 0.5)
    assert Delivery.objects.get().status == Delivery.Status.SENDING
    assert outbox.deliveries_sweep() == 1  # what beat runs every minute

    wait_until(succeeded, HANG + 30, "the delivery to succeed")
    delivery = Delivery.objects.get()
    assert [a.outcome for a in delivery.attempts.order_by("number")] == ["unknown", "adopted"]
    assert len(support_runs(live_kickoff)) == 1
