#!/usr/bin/env python
"""Runs the companion's tests: `python runtests.py [labels...]` (same as `python -m django test
--settings=tests.settings` from this directory). EDGE_AUTH_TEST_USER_MODEL=auth.User runs them on
Django's own user model."""

import os
import sys

import django
from django.conf import settings
from django.test.utils import get_runner

if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    django.setup()
    runner = get_runner(settings)(verbosity=int(os.environ.get("VERBOSITY", "1")))
    sys.exit(bool(runner.run_tests(sys.argv[1:] or ["tests"])))
