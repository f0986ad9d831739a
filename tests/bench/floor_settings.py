"""Kickoff's settings with the benchmark's floor view added (see tests/bench/floor.py)."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "tests.bench.floor"
