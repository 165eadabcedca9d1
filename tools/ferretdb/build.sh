#!/usr/bin/env bash
# Builds FerretDB v1.24.2 (this module's main.go) into $1 with one fix to its SQLite backend:
# `_id` filters use the expression the backend indexes `_id` by, so SQLite searches the
# unique index instead of scanning the table.
#
# Upstream (internal/backends/sqlite): metadata.IDColumn is `_ferretdb_sjson->'$._id'`,
# registry.indexesCreate indexes `_ferretdb_sjson->"_id"`. Both extract the same value, but
# SQLite matches expression indexes textually (sqlite.org/expridx.html: "the expression in
# the query must be the same as the expression in the index"), so `EXPLAIN QUERY PLAN` of
# every `_id` lookup said `SCAN`. The module is copied out of the module cache, the one
# constant is replaced, and the build points at the copy with a temporary `-modfile`.
set -euo pipefail
OUT="$1"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$HERE"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
go mod download github.com/FerretDB/FerretDB
MOD="$(go list -m -f '{{.Dir}}' github.com/FerretDB/FerretDB)"
cp -r "$MOD" "$WORK/ferretdb"
chmod -R u+w "$WORK/ferretdb"
META="$WORK/ferretdb/internal/backends/sqlite/metadata/metadata.go"
BEFORE="IDColumn = DefaultColumn + \"->'\$._id'\""
AFTER='IDColumn = DefaultColumn + `->"_id"`'
grep -qF "$BEFORE" "$META" || { echo "build.sh: FerretDB's IDColumn is not what this patch expects" >&2; exit 1; }
sed -i "s|$(printf '%s' "$BEFORE" | sed 's/[$.*[\^/]/\\&/g')|$AFTER|" "$META"
grep -qF "$AFTER" "$META" || { echo "build.sh: patching IDColumn failed" >&2; exit 1; }
cp go.mod "$WORK/go.mod"
cp go.sum "$WORK/go.sum"
echo "replace github.com/FerretDB/FerretDB => $WORK/ferretdb" >>"$WORK/go.mod"
go build -modfile="$WORK/go.mod" -o "$OUT.tmp.$$" .
mv -f "$OUT.tmp.$$" "$OUT"
