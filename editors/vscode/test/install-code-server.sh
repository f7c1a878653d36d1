#!/usr/bin/env bash
# Install code-server from the npm registry into editors/vscode/.code-server, unless the
# pinned version is already there. Needs Debian's libkrb5-dev (for the kerberos module that
# code-server compiles) and ripgrep (see below).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# 4.100.3 (VS Code 1.100.3) is the last code-server release whose install script accepts Node 20.
version="${CODE_SERVER_VERSION:-4.100.3}"
prefix="${CODE_SERVER_PREFIX:-$here/.code-server}"
binary="$prefix/node_modules/.bin/code-server"
manifest="$prefix/node_modules/code-server/package.json"

# Reading the version from the manifest, not `code-server --version`, because that command
# writes a default config file into ~/.config.
if [[ -x "$binary" ]] && [[ -f "$manifest" ]] &&
  [[ "$(node -p "require('$manifest').version")" == "$version" ]]; then
  echo "code-server $version is installed in $prefix"
  exit 0
fi

for tool in rg node npm tar; do
  if ! command -v "$tool" >/dev/null; then
    echo "error: $tool is not on PATH; install it first (ripgrep: apt-get install -y ripgrep)" >&2
    exit 1
  fi
done
if [[ ! -e /usr/include/krb5.h ]] && [[ ! -e /usr/include/gssapi/gssapi.h ]]; then
  echo "error: the Kerberos headers are missing; install them with apt-get install -y libkrb5-dev" >&2
  exit 1
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

echo "Fetching code-server $version"
(cd "$work" && npm pack --silent "code-server@$version" >/dev/null)
tarball="$(ls "$work"/code-server-*.tgz)"

# VS Code's @vscode/ripgrep downloads its rg binary from GitHub in its install script, which
# this network does not reach. The script first looks for the archive in a cache folder under
# os.tmpdir(), so an archive of Debian's rg placed there under the expected name is used instead.
ripgrep_version="$(tar -xzOf "$tarball" package/lib/vscode/npm-shrinkwrap.json |
  node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).packages["node_modules/@vscode/ripgrep"].version))')"
(cd "$work" && npm pack --silent "@vscode/ripgrep@$ripgrep_version" >/dev/null)
ripgrep_release="$(tar -xzOf "$work"/vscode-ripgrep-*.tgz package/lib/postinstall.js |
  sed -n "s/^const VERSION = '\(.*\)';.*/\1/p")"
case "$(uname -m)" in
  x86_64) target=x86_64-unknown-linux-musl ;;
  aarch64) target=aarch64-unknown-linux-musl ;;
  *) echo "error: no ripgrep target known for $(uname -m)" >&2; exit 1 ;;
esac
cache="$(node -p 'require("os").tmpdir()')/vscode-ripgrep-cache-$ripgrep_version"
mkdir -p "$cache" "$work/rg"
cp "$(command -v rg)" "$work/rg/rg"
tar -czf "$cache/ripgrep-$ripgrep_release-$target.tar.gz" -C "$work/rg" rg
echo "Placed Debian's rg at $cache/ripgrep-$ripgrep_release-$target.tar.gz"

# The install scripts of code-server compile native modules with node-gyp, which would
# download Node's headers unless nodedir points at the ones installed with Node.
node_prefix="$(dirname "$(dirname "$(command -v node)")")"
if [[ -z "${npm_config_nodedir:-}" ]] && [[ -e "$node_prefix/include/node/node.h" ]]; then
  export npm_config_nodedir="$node_prefix"
fi

echo "Installing code-server $version into $prefix"
rm -rf "$prefix"
mkdir -p "$prefix"
echo '{"private": true}' >"$prefix/package.json"
npm_config_unsafe_perm=true npm_config_yes=true \
  npm install --prefix "$prefix" --no-save --no-audit --no-fund "$tarball"
echo "Installed code-server $(node -p "require('$manifest').version") in $prefix"
