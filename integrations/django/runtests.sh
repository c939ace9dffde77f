#!/bin/sh
# Runs the companion's tests, once on the test project's user model (drf-auth-api.md's profile) and
# once on Django's own auth.User:  integrations/django/runtests.sh [VENV] [TEST LABEL...]
# VENV (default integrations/django/.venv) is created when missing and (re)filled with the pinned
# Django stack of tests/interop/requirements.txt plus this package (editable) when those change.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
venv=${1:-$here/.venv}
[ $# -gt 0 ] && shift
case $venv in /*) ;; *) venv=$PWD/$venv ;; esac
requirements=$here/../../tests/interop/requirements.txt
marker=$venv/.edge-auth-django-installed
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
if [ ! -f "$marker" ] || [ "$requirements" -nt "$marker" ] || [ "$here/pyproject.toml" -nt "$marker" ]; then
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$requirements"
  "$venv/bin/pip" install -q --disable-pip-version-check -e "$here"
  touch "$marker"
fi
cd "$here"
for model in users.User auth.User; do
  echo "== AUTH_USER_MODEL=$model"
  EDGE_AUTH_TEST_USER_MODEL=$model "$venv/bin/python" runtests.py "$@"
done
