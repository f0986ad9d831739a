"""The mapping engine stays pure: importing it loads no HTTP client, vendor client or ORM."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: What the engine must never pull in, directly or through what it imports.
FORBIDDEN = (
    "httpx",
    "integrations.http",
    "integrations.tally.client",
    "integrations.tallyfy.client",
    "integrations.models",
    "django.db.models",
)


def modules_loaded_by(statement: str) -> set[str]:
    """The modules a fresh interpreter holds after `statement`, with no Django settings."""
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    code = f"import json, sys\n{statement}\nprint(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return set(json.loads(result.stdout))


def test_importing_the_engine_loads_no_http_vendor_client_or_orm():
    loaded = modules_loaded_by("import integrations.engine")

    assert "integrations.engine.launch" in loaded
    assert sorted(m for m in loaded if m.startswith(FORBIDDEN)) == []


def test_tallyfys_shapes_and_tallys_answers_load_no_http_either():
    loaded = modules_loaded_by(
        "import integrations.tallyfy.shapes, integrations.tally.answers, integrations.coerce"
    )

    assert sorted(m for m in loaded if m.startswith(FORBIDDEN)) == []
