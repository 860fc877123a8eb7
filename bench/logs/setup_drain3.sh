#!/usr/bin/env bash
# Installs drain3 (PyPI) into bench/.venv (git-ignored) for the comparison in
# `accord-bench logs`. Safe to rerun.
set -euo pipefail
venv="$(cd "$(dirname "$0")/.." && pwd)/.venv"
if [[ ! -x "$venv/bin/python" ]]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check "drain3==0.9.11"
"$venv/bin/python" -c 'import drain3; print("drain3 ready:", drain3.__file__)'
