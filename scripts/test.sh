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
# The conformance tests drive the server with the pinned MCP clients of conformance/: install them when npm
# is there (they are skipped, saying so, when it is not).
if command -v npm >/dev/null 2>&1 && [ ! -d conformance/node_modules ]; then
    npm ci --prefix conformance --no-audit --no-fund --silent || echo "npm ci --prefix conformance failed: the conformance tests will be skipped" >&2
fi
exec "$VENV/bin/python" -m pytest -q "$@"
