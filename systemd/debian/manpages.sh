#!/usr/bin/env bash
# Writes a man page per executable into OUTDIR, made by help2man from its --help, with
# debian/man/NAME.h2m added where it exists. Called by debian/rules (dh_installman installs them).
#
#   debian/manpages.sh BINDIR OUTDIR VERSION EPOCH
#
# help2man reads GNU-style help; swift-argument-parser's headings are turned into that shape by a
# wrapper of the same name. An executable's subcommands, each with its own help, go into a COMMANDS
# section of their own. EPOCH (the changelog's date) dates the pages, so a rebuild gives the same.
set -euo pipefail

bindir=$1
outdir=$2
version=$3
epoch=$4
here=$(cd "$(dirname "$0")" && pwd)

declare -A section=([waystationd]=8 [waystationctl]=1 [waystation-sim]=1 [waystation-web]=8 [waystation-uplink]=8 [waystation-district]=8)
mkdir -p "$outdir"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

roff_block() { sed -e 's/\\/\\e/g' -e "s/^\([.']\)/\\\\\&\1/"; }
# An option whose name and argument fill the column is followed by one space only, which help2man
# reads as part of the name ("--log-level <log-level> Log level ..."): give it two.
cat > "$work/help.sed" <<'SED'
s/^OVERVIEW: //
s/^USAGE: /Usage: /
s/^OPTIONS:$/Options:/
/^SUBCOMMANDS:/,/^$/d
/^  See .* help <subcommand>/d
s/^\(  -[^ ]*\(, -[^ ]*\)\{0,1\}\( <[^>]*>\)\{0,1\}\) \([A-Z(]\)/\1  \4/
SED
for exe in "${!section[@]}"; do
    wrapper=$work/$exe
    printf '#!/bin/sh\n"%s" --help | sed -f "%s"\n' "$bindir/$exe" "$work/help.sed" > "$wrapper"
    chmod 0755 "$wrapper"
    include=()
    [ -e "$here/man/$exe.h2m" ] && include+=(--include "$here/man/$exe.h2m")
    subcommands=$("$bindir/$exe" --help | sed -n '/^SUBCOMMANDS:/,/^$/p' | awk 'NR > 1 && /^  [a-z]/ { print $1 }')
    if [ -n "$subcommands" ]; then
        {
            echo "[COMMANDS]"
            for sub in $subcommands; do
                # A subcommand's own subcommands (waystation-district stations add) follow it.
                nested=$("$bindir/$exe" help "$sub" | sed -n '/^SUBCOMMANDS:/,/^$/p' |
                    awk 'NR > 1 && /^  [a-z]/ { print $1 }')
                for path in "$sub" ${nested:+$(for n in $nested; do echo "$sub/$n"; done)}; do
                    echo ".SS ${path//\// }"
                    echo ".nf"
                    # shellcheck disable=SC2086 # the words of the subcommand path
                    "$bindir/$exe" help ${path//\// } | sed -e 's/^OVERVIEW: //' -e 's/^USAGE: /Usage: /' \
                        -e "/^  See '.* help/d" | roff_block
                    echo ".fi"
                done
            done
        } > "$work/$exe.commands.h2m"
        include+=(--include "$work/$exe.commands.h2m")
    fi
    # The NAME line: the .h2m file's [NAME] where it has one (help2man's --name would override it),
    # else the help's first paragraph (the overview, which may wrap).
    name=()
    if ! grep -q '^\[NAME\]' "$here/man/$exe.h2m" 2>/dev/null; then
        overview=$("$bindir/$exe" --help | sed -n '1,/^$/p' | sed 's/^OVERVIEW: //' | tr '\n' ' ' |
            sed -e 's/  */ /g' -e 's/ *$//' -e 's/[.:]$//')
        name=(--name "${overview:-$exe}")
    fi
    SOURCE_DATE_EPOCH=$epoch help2man --no-info --no-discard-stderr --section "${section[$exe]}" \
        --version-string "$version" "${name[@]}" --source "Waystation $version" --manual "Waystation" \
        "${include[@]}" --output "$outdir/$exe.${section[$exe]}" "$wrapper"
done
