#!/usr/bin/env bash
# Extracts every `.. code-block:: ini` example from a checkout of Heka (its docs,
# docs/source/**/*.rst, and the header comments of its Lua plugins, sandbox/lua/**/*.lua) into
# one TOML file each, then runs scripts/real-configs.sh over them: per example, accepted /
# refused only for unbuilt types / refused for another reason, and the counts.
# Not a test: Heka's repository is not part of ours.
#
# Usage: scripts/heka-doc-configs.sh HEKA_CHECKOUT [REV]   (REV: a tag such as v0.10.0; default:
#        the files as checked out; with REV the checkout may be a bare repository)
set -euo pipefail
if [[ $# -lt 1 || ! -d "$1" ]]; then
    echo "usage: scripts/heka-doc-configs.sh HEKA_CHECKOUT [REV]" >&2
    exit 2
fi
heka="$(realpath "$1")"
rev="${2:-}"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

list() {
    if [[ -n "$rev" ]]; then
        git -C "$heka" ls-tree -r --name-only "$rev" -- docs/source sandbox/lua
    else
        (cd "$heka" && find docs/source sandbox/lua -type f)
    fi | grep -E '\.(rst|lua)$' | sort
}
show() {
    if [[ -n "$rev" ]]; then git -C "$heka" show "$rev:$1"; else cat "$heka/$1"; fi
}

# One block: the indented lines after the directive (blank lines inside kept), dedented by the
# first line's indentation. Lua files quote them inside comments the same way.
n=0
while read -r f; do
    show "$f" | awk -v base="$out/$(echo "$f" | tr '/' '_')" '
        function flush() { if (nblock > 0) { file = sprintf("%s.%02d.toml", base, ++count); printf "%s", block > file; close(file) } block = ""; nblock = 0 }
        /^[ \t]*\.\. code-block:: *ini[ \t]*$/ { flush(); inblock = 1; indent = -1; next }
        inblock {
            if ($0 ~ /^[ \t]*$/) { if (indent >= 0) { block = block "\n" } ; next }
            match($0, /^[ \t]*/); w = RLENGTH
            if (indent < 0) { indent = w }
            if (w < indent) { flush(); inblock = 0; next }
            block = block substr($0, indent + 1) "\n"; nblock++
            next
        }
        END { flush() }
    '
done < <(list)
n="$(find "$out" -name '*.toml' | wc -l)"
echo "heka-doc-configs: $n examples from ${rev:-the checkout}"
"$(dirname "$0")/real-configs.sh" "$out"
