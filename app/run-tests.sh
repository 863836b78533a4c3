#!/usr/bin/env bash
# Run the incomes_api test suite in a venv at app/.venv-test.
#
#   app/run-tests.sh                      # python3.12 (default)
#   app/run-tests.sh python3.10           # or PYTHON=/path/to/python3.13 app/run-tests.sh
#   app/run-tests.sh python3.12 -k pagination   # extra args go to pytest
#   INCOMES_TEST_SETUP_ONLY=1 app/run-tests.sh   # only make the venv
#
# The venv is reused when it was made by the same interpreter; otherwise it is rebuilt.
# PostgreSQL tests start a throwaway server from /usr/lib/postgresql/*/bin (Debian's
# `postgresql` package) or use INCOMES_TEST_DATABASE_URL; without either they are skipped
# and the reason is printed (pytest -ra).
set -euo pipefail

APP_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PY="${1:-${PYTHON:-python3.12}}"
if [[ $# -gt 0 ]]; then shift; fi
VENV="${INCOMES_TEST_VENV:-$APP_DIR/.venv-test}"

# Resolve the interpreter; a bare "python3.X" that is only a pyenv shim (not enabled in
# this shell) falls back to pyenv's installed versions.
resolve_python() {
  local name="$1" candidate
  if "$name" -c 'import sys' >/dev/null 2>&1; then
    "$name" -c 'import sys; print(sys.executable)'
    return 0
  fi
  if [[ "$name" =~ ^python([0-9]+\.[0-9]+)$ ]]; then
    for candidate in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"${BASH_REMATCH[1]}".*/bin/"$name"; do
      if [[ -x "$candidate" ]] && "$candidate" -c 'import sys' >/dev/null 2>&1; then
        echo "$candidate"
        return 0
      fi
    done
  fi
  return 1
}
if ! PY_PATH="$(resolve_python "$PY")"; then
  echo "run-tests.sh: python interpreter '$PY' not found (pass one as argument or \$PYTHON)" >&2
  exit 2
fi
# What made the venv: the interpreter, and a tag for how (a venv made before uv compiled the
# bytecode, see below, is made again once).
WANT="$("$PY_PATH" -c 'import sys; print(sys.version.split()[0], sys.executable)') bytecode"

# uv (when on PATH, as ./dev puts it) makes the venv and installs in a second or two; pip
# otherwise (about 25 s per venv here). uv compiles the bytecode as pip does: without it, and
# with PYTHONDONTWRITEBYTECODE set, every pytest run and every process a test starts would
# compile Hypothesis, Schemathesis, SQLAlchemy, ... again (seconds each on a busy host).
UV="$(command -v uv || true)"
if [[ -x "$VENV/bin/python" ]] && [[ -f "$VENV/.made-by" ]] && [[ "$(cat "$VENV/.made-by")" == "$WANT" ]]; then
  :
else
  rm -rf "$VENV"
  if [[ -n "$UV" ]]; then "$UV" venv -q --python "$PY_PATH" "$VENV"; else "$PY_PATH" -m venv "$VENV"; fi
  echo "$WANT" > "$VENV/.made-by"
fi
install() {
  if [[ -n "$UV" ]]; then
    "$UV" pip install -q --compile-bytecode --python "$VENV/bin/python" "$@"
  else
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "$@"
  fi
}

install -r "$APP_DIR/requirements-postgres.txt" -r "$APP_DIR/requirements-dev.txt"
# The package itself, non-editable and without build isolation: the offline build of a by-hand
# install (README "Install on a server"), so the tests import what was built and run its
# `incomes-api` script, and a packaging mistake fails the run. (The deploy role builds nothing:
# it ships src/ and puts it on PYTHONPATH beside a venv of the same pins.)
install -r "$APP_DIR/requirements-build.txt"
if [[ -n "$UV" ]]; then
  install --no-deps --no-build-isolation --reinstall "$APP_DIR"
else
  install --no-deps --no-build-isolation --force-reinstall "$APP_DIR"
fi

# INCOMES_TEST_SETUP_ONLY=1: only make the venv (./dev lint type-checks the app in it).
if [[ "${INCOMES_TEST_SETUP_ONLY:-}" == 1 ]]; then exit 0; fi
echo "run-tests.sh: $("$VENV/bin/python" -c 'import sys; print("Python", sys.version.split()[0])'), venv $VENV"
cd "$APP_DIR"
# Import the installed package (not ./src), see above.
exec "$VENV/bin/python" -m pytest -ra -p no:cacheprovider "$@"
