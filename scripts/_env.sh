# Sourced by scripts/run and scripts/test: create or reuse .venv and install the project.
# Why a script and not a bare pip line: the README promises one command on a fresh machine,
# and PyTorch needs a pinned build (CPU by default; set AQA_TORCH_SPEC for a CUDA build).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="${PYTHON:-python3}"
VENV="$ROOT/.venv"
TORCH_SPEC="${AQA_TORCH_SPEC:-torch==2.13.0}"
STAMP="$VENV/.installed-$(cat pyproject.toml | cksum | cut -d' ' -f1)-${TORCH_SPEC//[^a-zA-Z0-9.]/_}"
if [ ! -x "$VENV/bin/python" ]; then
  echo "[setup] creating virtual environment in $VENV" >&2
  "$PY" -m venv "$VENV"
fi
# shellcheck disable=SC1091
. "$VENV/bin/activate"
if [ ! -f "$STAMP" ]; then
  echo "[setup] installing $TORCH_SPEC and the project (first run only)" >&2
  python -m pip install -q --upgrade pip >&2
  python -m pip install -q "$TORCH_SPEC" >&2
  python -m pip install -q -e ".[dev,package]" >&2
  rm -f "$VENV"/.installed-*
  touch "$STAMP"
fi
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
