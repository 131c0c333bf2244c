#!/usr/bin/env bash
# Runs `hekad -test` over a folder of users' Heka configs (DIR, which this repository does not
# hold: the configs belong to the users who published them) and says, per file:
#   accepted                     the config loads and every plugin builds
#   unbuilt: T1, T2              refused only because plugin types T1, T2 are not built yet
#                                (and sections that name those plugins; Lua scripts that are
#                                not on this machine are listed too)
#   scripts not here: F1, F2     refused only because the Lua scripts F1, F2 are not on this
#                                machine (the user's own, or Heka's shipped plugins that our
#                                library does not have yet)
#   refused: <first error>       refused for another reason
#   template                     an ERB/Jinja/confd template: render it first
# then the counts. Not a test: the corpus lives outside the repository.
#
# Usage: scripts/real-configs.sh DIR
set -euo pipefail
if [[ $# -ne 1 || ! -d "$1" ]]; then
    echo "usage: scripts/real-configs.sh DIR  (a folder of *.toml configs; an optional" >&2
    echo "SOURCES.md there marks templates in its fifth column)" >&2
    exit 2
fi
dir="$(realpath "$1")"
cd "$(dirname "$0")/.."
target="$(realpath "${CARGO_TARGET_DIR:-target}")"
cargo build --quiet -p hekad --bin hekad
hekad="$target/debug/hekad"

# The corpus's SOURCES.md says which files are templates (its fifth column); without it, a file
# with ERB or Jinja/Go template markers counts as one.
listed=""
if [[ -f "$dir/SOURCES.md" ]]; then
    listed="$(awk -F'|' '$6 ~ /yes/ {gsub(/ /, "", $2); print $2}' "$dir/SOURCES.md")"
fi
is_template() {
    if [[ -n "$listed" ]]; then
        grep -qxF "$1" <<<"$listed"
    else
        grep -qE '<%=|<%-|\{\{|\{%' "$2"
    fi
}

accepted=0 unbuilt=0 noscript=0 refused=0 templates=0
for f in "$dir"/*.toml; do
    name="$(basename "$f")"
    if is_template "$name" "$f"; then
        echo "$name: template"
        templates=$((templates + 1))
        continue
    fi
    if err="$("$hekad" -config="$f" -test -q 2>&1)"; then
        echo "$name: accepted"
        accepted=$((accepted + 1))
        continue
    fi
    # Error lines, without the log's date prefix; the summary line is not an error.
    errors="$(sed -E 's/^[0-9]{4}\/[0-9]{2}\/[0-9]{2} [0-9:]{8} //' <<<"$err" | grep -v 'errors loading plugins$' || true)"
    types="$({ grep -oE 'No registered plugin type: [A-Za-z0-9_]+' <<<"$errors" || true; } | awk '{print $NF}' | sort -u | paste -sd, | sed 's/,/, /g')"
    # Lua scripts the config names that are not on this machine: the user's own, or one of
    # the plugins Heka shipped that our library does not have yet.
    scripts="$({ grep -oE "filename: cannot open [^:]+" <<<"$errors" || true; } | awk '{print $NF}' | sort -u | paste -sd, | sed 's/,/, /g')"
    # A section naming a plugin whose type is not built fails too; that is the same cause.
    other="$(grep -vE "No registered plugin type: |can't create (splitter|decoder|encoder) |no registered '[^']+' (splitter|decoder|encoder)|filename: cannot open " <<<"$errors" || true)"
    if [[ -n "$types" && -z "$other" ]]; then
        echo "$name: unbuilt: $types${scripts:+; scripts not here: $scripts}"
        unbuilt=$((unbuilt + 1))
    elif [[ -n "$scripts" && -z "$other" ]]; then
        echo "$name: scripts not here: $scripts"
        noscript=$((noscript + 1))
    else
        echo "$name: refused: $(head -1 <<<"${other:-$errors}")"
        refused=$((refused + 1))
    fi
done
echo
echo "accepted $accepted, refused only for unbuilt types $unbuilt, refused only for Lua scripts not on this machine $noscript, refused for another reason $refused, templates $templates"
