#!/usr/bin/env bash
# The test command (README and CI): creates .venv if needed, installs the project with test extras, runs pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
VENV="${VENV:-.venv}"
if [ ! -x "$VENV/bin/pytest" ] || [ ! -x "$VENV/bin/exofop-mcp" ] || ! "$VENV/bin/python" -c "import xdist, erfa, PIL, matplotlib" 2>/dev/null; then
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    "$VENV/bin/python" -m pip install --quiet -e '.[test]'
fi
export PATH="$PWD/$VENV/bin:$PATH"
exec "$VENV/bin/python" -m pytest -q "$@"
