#!/usr/bin/env bash
# Installs code-server 4.100.3 (VS Code 1.100.3) into .cache/code-server for the offline extension
# tests: a real VS Code server whose workbench runs in headless Chromium. Skipped when present.
# Fixes for this machine kind (see the project's notes): root postinstall, kerberos headers,
# non-interactive npx in node-pty's postinstall, and @vscode/ripgrep's GitHub download replaced by
# Debian's rg in the cache folder it looks in.
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=.cache/code-server
BIN="$DIR/node_modules/.bin/code-server"
# Any code-server start, --version included, writes a default config.yaml and logs under the XDG
# folders (~/.config/code-server otherwise): point them at a temporary folder, removed on exit.
XDG_TMP="$(mktemp -d "${TMPDIR:-/tmp}/dpo-code-server-xdg-XXXXXX")"
trap 'rm -rf "$XDG_TMP"' EXIT
export XDG_CONFIG_HOME="$XDG_TMP/config" XDG_DATA_HOME="$XDG_TMP/data"
if [ -x "$BIN" ] && "$BIN" --version 2>/dev/null | grep -q '^4\.100\.3'; then
  echo "code-server 4.100.3 already installed in $DIR"
  exit 0
fi
command -v rg >/dev/null || { echo "install-code-server: needs ripgrep (apt-get install -y ripgrep)" >&2; exit 1; }
CACHE="${TMPDIR:-/tmp}/vscode-ripgrep-cache-1.15.11"
mkdir -p "$CACHE/s"
cp "$(command -v rg)" "$CACHE/s/rg"
tar czf "$CACHE/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz" -C "$CACHE/s" rg
mkdir -p "$DIR"
[ -f "$DIR/package.json" ] || echo '{ "private": true }' > "$DIR/package.json"
( cd "$DIR" && npm_config_unsafe_perm=true npm_config_yes=true npm install --no-audit --no-fund --no-save code-server@4.100.3 )
"$BIN" --version | head -1
