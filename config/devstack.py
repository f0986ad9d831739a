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
        "beat": [python, "-m", "celery", "-A", "config", "beat", "-l", "INFO"],
    }
    procs = {name: subprocess.Popen(cmd) for name, cmd in commands.items()}  # noqa: S603
    url = os.environ["PUBLIC_BASE_URL"]
    print(
        f"\n  Kickoff is starting at {url}/\n"
        f"  Sign in as {DEMO_USER} / {DEMO_PASSWORD}\n"
        f"  Sandbox vendors: {url}/sandbox/\n"
        "  Ctrl-C stops web, worker, dispatcher and beat.\n",
        flush=True,
    )
    try:
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
