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
WANT="$("$PY_PATH" -c 'import sys; print(sys.version.split()[0], sys.executable)')"

# uv (when on PATH, as ./dev puts it) makes the venv and installs in a second or two; pip
# otherwise (about 25 s per venv here).
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
    "$UV" pip install -q --python "$VENV/bin/python" "$@"
  else
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "$@"
  fi
}

install -r "$APP_DIR/requirements-postgres.txt" -r "$APP_DIR/requirements-dev.txt"
# Non-editable, without build isolation: exercises the same offline build the deploy role uses.
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
# Import the installed package (not ./src) so packaging mistakes fail the run.
exec "$VENV/bin/python" -m pytest -ra -p no:cacheprovider "$@"
