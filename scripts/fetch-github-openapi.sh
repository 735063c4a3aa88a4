#!/usr/bin/env bash
# Fetch GitHub's published API descriptions (npm packages, pinned) into .cache/ for the schema tests:
#   @octokit/openapi        -> .cache/octokit-openapi/   (tests/test_fake_github_schema.py;
#                              export GITHUB_OPENAPI_JSON to use another copy)
#   @octokit/graphql-schema -> .cache/octokit-graphql-schema/   (tests/test_github_graphql_schema.py;
#                              export GITHUB_GRAPHQL_SCHEMA to use another copy of schema.graphql)
# and print the path of each file the tests read, one a line. Idempotent: a package whose pinned
# version is already there is not installed again. Needs npm and access to the npm registry.
set -euo pipefail

OPENAPI_VERSION="${OCTOKIT_OPENAPI_VERSION:-23.0.2}"
GRAPHQL_VERSION="${OCTOKIT_GRAPHQL_SCHEMA_VERSION:-15.26.1}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

installed_version() { # $1: package directory
  [ -f "$1/package.json" ] && sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$1/package.json" | head -n1
}

# fetch PREFIX PACKAGE VERSION FILE: install PACKAGE@VERSION under PREFIX unless FILE is there at VERSION.
fetch() {
  local prefix="$1" package="$2" version="$3" file="$4"
  local pkg="$prefix/node_modules/$package"
  if [ ! -s "$file" ] || [ "$(installed_version "$pkg")" != "$version" ]; then
    command -v npm >/dev/null || { echo "fetch-github-openapi: npm is required" >&2; exit 1; }
    mkdir -p "$prefix"
    echo "fetch-github-openapi: installing $package@$version into $prefix" >&2
    npm install --no-save --no-audit --no-fund --loglevel=error --prefix "$prefix" \
      "$package@$version" >&2
  fi
}

OPENAPI_PREFIX="$ROOT/.cache/octokit-openapi"
OPENAPI_FILE="$OPENAPI_PREFIX/node_modules/@octokit/openapi/generated/api.github.com.json"
fetch "$OPENAPI_PREFIX" "@octokit/openapi" "$OPENAPI_VERSION" "$OPENAPI_FILE"
# The dereferenced variants (*.deref.json, ~350 MB together) are not used: the test resolves $refs.
find "$OPENAPI_PREFIX/node_modules/@octokit/openapi/generated" -name '*.deref.json' -delete 2>/dev/null || true

GRAPHQL_PREFIX="$ROOT/.cache/octokit-graphql-schema"
GRAPHQL_FILE="$GRAPHQL_PREFIX/node_modules/@octokit/graphql-schema/schema.graphql"
fetch "$GRAPHQL_PREFIX" "@octokit/graphql-schema" "$GRAPHQL_VERSION" "$GRAPHQL_FILE"

for file in "$OPENAPI_FILE" "$GRAPHQL_FILE"; do
  [ -s "$file" ] || { echo "fetch-github-openapi: $file missing after install" >&2; exit 1; }
  echo "$file"
done
