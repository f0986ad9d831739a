"""`make run`: migrate, create a demo staff user, seed the sandbox, then run web + worker +
dispatcher + beat in the foreground on the embedded defaults until Ctrl-C.

Development only (DEBUG is forced on by the Makefile); production runs the four
processes under a supervisor, see README.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

DEMO_USER = "demo"
DEMO_PASSWORD = "kickoff-demo"


def prepare() -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    user, _ = get_user_model().objects.get_or_create(
        username=DEMO_USER, defaults={"is_staff": True, "email": "demo@example.com"}
    )
    # The demo user may do everything, including managing roles in /admin/.
    user.is_staff = user.is_superuser = True
    user.set_password(DEMO_PASSWORD)
    user.save()
    if settings.SANDBOX:
        call_command("sandbox_tally_seed")
        call_command("sandbox_tallyfy_seed")


def _interrupt(*_) -> None:
    raise KeyboardInterrupt


def wait_until_up(url: str, timeout: float = 30.0) -> bool:
    """Wait for the web process to answer, so the banner comes after the start-up noise."""
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2):  # noqa: S310 (our own URL)
                return True
        except OSError:
            time.sleep(0.5)
    return False


def print_banner(url: str, *, sandbox: bool, up: bool = True, out=None) -> None:
    """What to open and how to sign in: printed last, so it is the last thing on screen."""
    lines = [
        "",
        "  " + "-" * 60,
        "  Ctrl-C stops web, worker, dispatcher and beat.",
    ]
    if sandbox:
        lines.append(f"  Sandbox vendors (Tally and Tallyfy stand-ins): {url}/sandbox/")
    if not up:
        lines.append("  The web process has not answered yet; it may still be starting.")
    lines += [
        f"  Open Kickoff:  {url}/",
        f"  Sign in as:    {DEMO_USER} / {DEMO_PASSWORD}",
        "  " + "-" * 60,
        "",
    ]
    print("\n".join(lines), file=out or sys.stdout, flush=True)


def main() -> int:
    host = os.environ.get("HOST", "127.0.0.1")
    port = os.environ.get("PORT", "8000")
    os.environ.setdefault("PUBLIC_BASE_URL", f"http://{host}:{port}")
    prepare()
    # `kill` (SIGTERM) stops the children too, like Ctrl-C does.
    signal.signal(signal.SIGTERM, _interrupt)
    python = sys.executable
    commands = {
        "web": [python, "manage.py", "runserver", f"{host}:{port}", "--noreload"],
        "worker": [python, "-m", "celery", "-A", "config", "worker", "-l", "INFO", "-c", "2"],
        "dispatcher": [python, "manage.py", "dispatch_deliveries"],
        # Beat at INFO logs each due task: the sandbox's every 5 s buries everything else.
        "beat": [python, "-m", "celery", "-A", "config", "beat", "-l", "WARNING"],
    }
    procs = {name: subprocess.Popen(cmd) for name, cmd in commands.items()}  # noqa: S603
    url = os.environ["PUBLIC_BASE_URL"]
    try:
        up = wait_until_up(url)
        time.sleep(4)  # the worker and beat print their start-up banners after web is up
        from django.conf import settings

        print_banner(url, sandbox=settings.SANDBOX, up=up)
        while all(p.poll() is None for p in procs.values()):
            time.sleep(0.5)
        dead = [name for name, p in procs.items() if p.poll() is not None]
        print(f"{', '.join(dead)} stopped; shutting down the rest.", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs.values():
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()


if __name__ == "__main__":
    sys.exit(main())
