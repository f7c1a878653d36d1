#!/usr/bin/env bash
# Build, package and test the extension in a real VS Code (code-server) in headless Chromium,
# starting from a fresh clone. When run as root it installs the Debian packages it needs.
# Then it installs the npm packages and code-server (into editors/vscode/.code-server), and
# runs test/e2e.mjs.
#
# Environment: AMPLIFIER_PYTHON, the Python with amplifier-ls installed (default: the
# repository's .venv); E2E_RUNS, how many times to run the test (default 1).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
repo="$(cd "$here/../.." && pwd)"
cd "$here"
started=$SECONDS

missing=()
command -v chromium >/dev/null || missing+=(chromium)
command -v rg >/dev/null || missing+=(ripgrep)
[[ -e /usr/include/krb5.h || -e /usr/include/gssapi/gssapi.h ]] || missing+=(libkrb5-dev)
if ((${#missing[@]} > 0)); then
  if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
    echo "== apt-get install ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "error: missing Debian packages: ${missing[*]}; install them with apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi

python="${AMPLIFIER_PYTHON:-$repo/.venv/bin/python}"
if ! "$python" -c "import amplifier_ls.server" 2>/dev/null; then
  echo "error: $python cannot import amplifier_ls.server; create the environment (pip install -e .) or set AMPLIFIER_PYTHON" >&2
  exit 1
fi

echo "== npm ci"
npm ci --no-audit --no-fund
echo "== type check and lint"
npm run --silent check
echo "== package"
npm run --silent package
echo "== code-server"
bash test/install-code-server.sh

runs="${E2E_RUNS:-1}"
status=0
for ((run = 1; run <= runs; run++)); do
  echo "== end-to-end test, run $run of $runs"
  node test/e2e.mjs --vsix "$here/amplifier.vsix" --python "$python" || status=1
done
echo "== e2e.sh took $((SECONDS - started))s"
exit "$status"
