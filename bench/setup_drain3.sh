#!/usr/bin/env bash
# Installs drain3 (PyPI) into bench/.venv (git-ignored) for the comparison in
# `accord bench logs`. Safe to rerun.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
if [[ ! -x "$here/.venv/bin/python" ]]; then
  python3 -m venv "$here/.venv"
fi
"$here/.venv/bin/pip" install --quiet --disable-pip-version-check "drain3==0.9.11"
"$here/.venv/bin/python" -c 'import drain3; print("drain3 ready:", drain3.__file__)'
