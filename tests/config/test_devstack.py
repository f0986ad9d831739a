"""`make run`: the URL and the login are the last thing on screen, after the start-up noise."""

import io
import logging

from config.devstack import DEMO_PASSWORD, DEMO_USER, print_banner
from config.logfilters import QuietTicks


def _lines(**kw):
    out = io.StringIO()
    print_banner("http://127.0.0.1:8000", out=out, **kw)
    return [line.strip() for line in out.getvalue().splitlines() if line.strip()]


def test_the_banner_ends_with_the_url_then_the_login():
    lines = _lines(sandbox=True)
    assert lines[-3] == "Open Kickoff:  http://127.0.0.1:8000/"
    assert lines[-2] == f"Sign in as:    {DEMO_USER} / {DEMO_PASSWORD}"
    assert set(lines[-1]) == {"-"}  # a rule closes it, nothing after
    assert "Sandbox vendors (Tally and Tallyfy stand-ins): http://127.0.0.1:8000/sandbox/" in lines


def test_without_the_sandbox_the_banner_does_not_offer_it():
    assert not any("sandbox" in line.lower() for line in _lines(sandbox=False))


def test_a_web_process_slow_to_start_is_said_before_the_url():
    lines = _lines(sandbox=False, up=False)
    said = lines.index("The web process has not answered yet; it may still be starting.")
    assert said < lines.index("Open Kickoff:  http://127.0.0.1:8000/")


def _record(level, msg, *args):
    return logging.LogRecord("celery.app.trace", level, __file__, 1, msg, args, None)


def test_the_sandbox_tick_task_does_not_log_at_info_but_its_errors_do():
    quiet = QuietTicks()
    tick = {"name": "sandbox_tally.deliver_due", "id": "abc"}
    assert not quiet.filter(_record(logging.INFO, "Task %(name)s[%(id)s] received", tick))
    assert quiet.filter(_record(logging.ERROR, "Task %(name)s[%(id)s] raised", tick))
    work = {"name": "integrations.deliver", "id": "abc"}
    assert quiet.filter(_record(logging.INFO, "Task %(name)s[%(id)s] received", work))


def test_beat_and_the_worker_lines_go_through_the_filter():
    from django.conf import settings

    loggers = settings.LOGGING["loggers"]
    assert loggers["celery.beat"]["level"] == "WARNING"
    assert "quiet_ticks" in loggers["celery.app.trace"]["filters"]
    assert "quiet_ticks" in loggers["celery.worker.strategy"]["filters"]
