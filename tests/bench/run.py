"""`make bench`: every benchmark, one after the other, printing its figures.

Benchmarks are not tests: they measure, print, and exit 0 unless something broke.
Each module in BENCHMARKS exposes `main() -> None`.
"""

import importlib
import os
import sys

BENCHMARKS = [
    "tests.bench.forms",
    "tests.bench.deliveries",
    "tests.bench.ingest",
]


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    selected = sys.argv[1:] or BENCHMARKS
    for name in selected:
        print(f"\n=== {name}", flush=True)
        importlib.import_module(name).main()
    return 0


if __name__ == "__main__":
    sys.exit(main())
