#!/usr/bin/env bash
# Fetch GitHub's published OpenAPI description (npm package @octokit/openapi, pinned) into
# .cache/octokit-openapi/ for tests/test_fake_github_schema.py, and print the path of the file the
# test reads (export it as GITHUB_OPENAPI_JSON to use another copy). Idempotent: does nothing when
# the pinned version is already there. Needs npm and access to the npm registry.
set -euo pipefail

VERSION="${OCTOKIT_OPENAPI_VERSION:-23.0.2}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PREFIX="$ROOT/.cache/octokit-openapi"
PKG="$PREFIX/node_modules/@octokit/openapi"
FILE="$PKG/generated/api.github.com.json"

installed_version() {
  [ -f "$PKG/package.json" ] && sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$PKG/package.json" | head -n1
}

if [ ! -s "$FILE" ] || [ "$(installed_version)" != "$VERSION" ]; then
  command -v npm >/dev/null || { echo "fetch-github-openapi: npm is required" >&2; exit 1; }
  mkdir -p "$PREFIX"
  echo "fetch-github-openapi: installing @octokit/openapi@$VERSION into $PREFIX" >&2
  npm install --no-save --no-audit --no-fund --loglevel=error --prefix "$PREFIX" \
    "@octokit/openapi@$VERSION" >&2
fi

# The dereferenced variants (*.deref.json, ~350 MB together) are not used: the test resolves $refs.
find "$PKG/generated" -name '*.deref.json' -delete 2>/dev/null || true

[ -s "$FILE" ] || { echo "fetch-github-openapi: $FILE missing after install" >&2; exit 1; }
echo "$FILE"
