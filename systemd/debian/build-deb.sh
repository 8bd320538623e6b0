#!/usr/bin/env bash
# Builds the waystation Debian package from release binaries: stages the tree, writes DEBIAN/,
# and runs dpkg-deb. No debhelper, no source package.
#
#   systemd/debian/build-deb.sh [--bindir DIR] [--outdir DIR] [--version VERSION] [--lintian]
#
#   --bindir   where the release binaries are (default .build/release)
#   --outdir   where the .deb goes (default build)
#   --version  the package version (default: the top entry of systemd/debian/changelog);
#              a version not in the changelog gets an entry of its own in the package
#   --lintian  run lintian on the result (exit non-zero on an error)
#
# Build the binaries with the Swift runtime linked statically (`make deb` does, with -z now):
#   swift build -c release --static-swift-stdlib -Xlinker -z -Xlinker now
# Debian has no package of the Swift runtime (libswiftCore, Foundation, Dispatch, ICU data), so a
# dynamically linked build would need the toolchain's lib directory shipped beside it. Linked
# statically, each executable is self-contained and only needs libraries Debian ships (libc6,
# libstdc++6, libgcc-s1, libmodbus5, libsqlite3-0; dpkg-shlibdeps finds them), and the
# daemon's resident memory is several MiB smaller, as it maps no shared Swift libraries.
#
# Executables packaged when present in --bindir: waystationd, waystationctl (both required),
# waystation-sim and waystation-web. Units: every systemd/*.service and systemd/*.socket, plus
# systemd/debian/waystation-devices.service. A man page per executable is made by help2man from
# its --help, with systemd/debian/man/NAME.h2m added where it exists.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
bindir=.build/release
outdir=build
version=
run_lintian=0

while [ $# -gt 0 ]; do
    case "$1" in
    --bindir) bindir=$2; shift 2 ;;
    --outdir) outdir=$2; shift 2 ;;
    --version) version=$2; shift 2 ;;
    --lintian) run_lintian=1; shift ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build-deb.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done

cd "$repo"
bindir=$(cd "$bindir" && pwd)
mkdir -p "$outdir"
outdir=$(cd "$outdir" && pwd)

for tool in dpkg-deb dpkg-shlibdeps help2man strip gzip; do
    command -v "$tool" >/dev/null || { echo "build-deb.sh: $tool is missing (apt-get install dpkg-dev help2man binutils)" >&2; exit 1; }
done
for exe in waystationd waystationctl; do
    [ -x "$bindir/$exe" ] || { echo "build-deb.sh: $bindir/$exe is missing; run: swift build -c release --static-swift-stdlib" >&2; exit 1; }
done

# Executables, their man sections, and whether they are there.
declare -A section=([waystationd]=8 [waystationctl]=1 [waystation-sim]=1 [waystation-web]=8)
executables=()
for exe in waystationd waystationctl waystation-sim waystation-web; do
    [ -x "$bindir/$exe" ] && executables+=("$exe")
done

# A dynamically linked Swift runtime would make the package depend on files nobody ships.
for exe in "${executables[@]}"; do
    if readelf -d "$bindir/$exe" | grep -q 'libswiftCore\.so'; then
        echo "build-deb.sh: $exe links libswiftCore.so; build with --static-swift-stdlib" >&2
        exit 1
    fi
done

changelog_version=$(sed -n '1s/^[^(]*(\([^)]*\)).*/\1/p' "$here/changelog")
version=${version:-$changelog_version}
upstream=${version%-*}
binary_version=$("$bindir/waystationd" --version 2>/dev/null || true)
if [ -n "$binary_version" ] && [ "${upstream%%[+~]*}" != "$binary_version" ]; then
    echo "build-deb.sh: warning: package version $version, but waystationd --version says $binary_version" >&2
fi
arch=$(dpkg --print-architecture)
# The man pages' date: the changelog's, so that a rebuild gives the same pages.
changelog_epoch=$(date -d "$(sed -n 's/^ -- .*>  //p' "$here/changelog" | head -n 1)" +%s)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/root
mkdir -p "$root/DEBIAN"

install -d "$root/usr/bin" "$root/lib/systemd/system" "$root/usr/lib/sysusers.d" "$root/usr/lib/tmpfiles.d" \
    "$root/lib/udev/rules.d" "$root/usr/share/waystation/devices" "$root/etc/waystation" \
    "$root/usr/share/doc/waystation" "$root/usr/share/bash-completion/completions" \
    "$root/usr/share/zsh/vendor-completions" "$root/usr/share/fish/vendor_completions.d" \
    "$root/usr/share/lintian/overrides"

# Executables, stripped as dh_strip does (the symbols are not needed: the Swift backtracer is off
# in the unit, and stripping takes a release binary from ~110 MB to ~70 MB).
for exe in "${executables[@]}"; do
    install -m 0755 "$bindir/$exe" "$root/usr/bin/$exe"
    strip --remove-section=.comment --remove-section=.note --strip-unneeded "$root/usr/bin/$exe"
done

# Units. Units of the package in /lib, as bookworm's debhelper puts them.
units=()
for unit in systemd/*.service systemd/*.socket systemd/debian/waystation-devices.service; do
    [ -e "$unit" ] || continue
    install -m 0644 "$unit" "$root/lib/systemd/system/"
    units+=("$(basename "$unit")")
done
install -m 0644 systemd/waystation.sysusers "$root/usr/lib/sysusers.d/waystation.conf"
install -m 0644 systemd/waystation.tmpfiles "$root/usr/lib/tmpfiles.d/waystation.conf"
install -m 0644 "$here/60-waystation.rules" "$root/lib/udev/rules.d/60-waystation.rules"

# Profiles, the varlink interface, the example config (mode 0640: postinst gives it to group
# waystation). The example's "../devices" only finds the repository's profiles from examples/.
install -m 0644 devices/*.toml "$root/usr/share/waystation/devices/"
varlink=$(find Sources -name 'io.waystation.Station.varlink' | head -n 1)
[ -n "$varlink" ] || { echo "build-deb.sh: io.waystation.Station.varlink not found under Sources/" >&2; exit 1; }
install -m 0644 "$varlink" "$root/usr/share/waystation/io.waystation.Station.varlink"
sed -e 's|^paths = \["devices", "../devices"\]|paths = ["devices"]|' \
    -e '/"..\/devices" finds the repository/d' \
    examples/station.toml > "$root/etc/waystation/station.toml"
chmod 0640 "$root/etc/waystation/station.toml"
echo /etc/waystation/station.toml > "$root/DEBIAN/conffiles"

# Shell completions.
ctl="$bindir/waystationctl"
# A completion file is sourced, not run: no #! line (lintian: bash-completion-with-hashbang).
"$ctl" --generate-completion-script bash | sed '1{/^#!/d}' > "$root/usr/share/bash-completion/completions/waystationctl"
"$ctl" --generate-completion-script zsh > "$root/usr/share/zsh/vendor-completions/_waystationctl"
"$ctl" --generate-completion-script fish > "$root/usr/share/fish/vendor_completions.d/waystationctl.fish"
chmod 0644 "$root"/usr/share/*/*completion*/*

# Man pages from --help. help2man reads GNU-style help; swift-argument-parser's headings are
# turned into that shape by a wrapper of the same name. waystationctl's subcommands, each with its
# own help, go into a COMMANDS section of their own.
roff_block() { sed -e 's/\\/\\e/g' -e "s/^\([.']\)/\\\\\&\1/"; }
mkdir -p "$work/h2m"
# An option whose name and argument fill the column is followed by one space only, which help2man
# reads as part of the name ("--log-level <log-level> Log level ..."): give it two.
cat > "$work/h2m/help.sed" <<'SED'
s/^OVERVIEW: //
s/^USAGE: /Usage: /
s/^OPTIONS:$/Options:/
/^SUBCOMMANDS:/,/^$/d
/^  See .* help <subcommand>/d
s/^\(  -[^ ]*\(, -[^ ]*\)\{0,1\}\( <[^>]*>\)\{0,1\}\) \([A-Z(]\)/\1  \4/
SED
for exe in "${executables[@]}"; do
    wrapper=$work/h2m/$exe
    printf '#!/bin/sh\n"%s" --help | sed -f "%s"\n' "$bindir/$exe" "$work/h2m/help.sed" > "$wrapper"
    chmod 0755 "$wrapper"
    include=()
    [ -e "$here/man/$exe.h2m" ] && include+=(--include "$here/man/$exe.h2m")
    subcommands=$("$bindir/$exe" --help | sed -n '/^SUBCOMMANDS:/,/^$/p' | awk 'NR > 1 && /^  [a-z]/ { print $1 }')
    if [ -n "$subcommands" ]; then
        {
            echo "[COMMANDS]"
            for sub in $subcommands; do
                echo ".SS $sub"
                echo ".nf"
                "$bindir/$exe" help "$sub" | sed -e 's/^OVERVIEW: //' -e 's/^USAGE: /Usage: /' \
                    -e "/^  See '.* help/d" | roff_block
                echo ".fi"
            done
        } > "$work/h2m/$exe.commands.h2m"
        include+=(--include "$work/h2m/$exe.commands.h2m")
    fi
    # The NAME line: the .h2m file's [NAME] where it has one (help2man's --name would override it),
    # else the help's first paragraph (the overview, which may wrap).
    name=()
    if ! grep -q '^\[NAME\]' "$here/man/$exe.h2m" 2>/dev/null; then
        overview=$("$bindir/$exe" --help | sed -n '1,/^$/p' | sed 's/^OVERVIEW: //' | tr '\n' ' ' |
            sed -e 's/  */ /g' -e 's/ *$//' -e 's/[.:]$//')
        name=(--name "${overview:-$exe}")
    fi
    mkdir -p "$root/usr/share/man/man${section[$exe]}"
    page=$root/usr/share/man/man${section[$exe]}/$exe.${section[$exe]}
    SOURCE_DATE_EPOCH=$changelog_epoch help2man --no-info --no-discard-stderr --section "${section[$exe]}" \
        --version-string "$upstream" "${name[@]}" --source "Waystation $upstream" --manual "Waystation" \
        "${include[@]}" --output "$page" "$wrapper"
    gzip -9n "$page"
done

# Documentation. A changelog entry of its own for a version the changelog does not have.
install -m 0644 README.md "$root/usr/share/doc/waystation/README.md"
install -m 0644 "$here/copyright" "$root/usr/share/doc/waystation/copyright"
{
    if [ "$version" != "$changelog_version" ]; then
        printf 'waystation (%s) bookworm; urgency=medium\n\n  * Built with build-deb.sh --version %s.\n\n -- %s  %s\n\n' \
            "$version" "$version" "Waystation maintainers <maintainers@waystation.example>" "$(date -R)"
    fi
    cat "$here/changelog"
} | gzip -9n > "$root/usr/share/doc/waystation/changelog.Debian.gz"
install -m 0644 "$here/lintian-overrides" "$root/usr/share/lintian/overrides/waystation"

# Maintainer scripts: which units to enable, start, restart and stop. waystation-web is enabled
# but not started on a fresh install: its first call would start the daemon through the socket on
# the example config's placeholder devices. It starts at the next boot or with the daemon by hand
# (systemctl restart waystation.service waystation-web.service); upgrades restart it if it ran.
enable_units="waystation.socket waystation.service"
start_units="waystation.socket"
restart_units="waystation.service"
stop_units="waystation.service waystation.socket"
if [ -e systemd/waystation-web.service ]; then
    enable_units+=" waystation-web.service"
    restart_units+=" waystation-web.service"
    stop_units="waystation-web.service $stop_units"
fi
for script in postinst prerm postrm; do
    sed -e "s|@ENABLE_UNITS@|$enable_units|" -e "s|@START_UNITS@|$start_units|" \
        -e "s|@RESTART_UNITS@|$restart_units|" -e "s|@STOP_UNITS@|$stop_units|" \
        -e "s|@ALL_UNITS@|${units[*]}|" "$here/$script" > "$root/DEBIAN/$script"
    chmod 0755 "$root/DEBIAN/$script"
done

# Dependencies from the executables' ELF NEEDED entries (libc6, libmodbus5, libsqlite3-0, ...).
mkdir -p "$work/shlibs/debian"
printf 'Source: waystation\n\nPackage: waystation\nArchitecture: any\n' > "$work/shlibs/debian/control"
depends=$(cd "$work/shlibs" && dpkg-shlibdeps -O "${executables[@]/#/$root/usr/bin/}" 2>/dev/null |
    sed -n 's/^shlibs:Depends=//p')
for lib in libc6 libmodbus5 libsqlite3-0; do
    case ", $depends" in *", $lib "*|*", $lib,"*|*", $lib") ;; *)
        echo "build-deb.sh: dpkg-shlibdeps found no dependency on $lib: $depends" >&2; exit 1 ;;
    esac
done
# systemd-sysusers, systemd-tmpfiles and deb-systemd-helper run in postinst.
depends="$depends, systemd, init-system-helpers (>= 1.52)"

installed_size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
sed -e "s|@VERSION@|$version|" -e "s|@ARCH@|$arch|" -e "s|@INSTALLED_SIZE@|$installed_size|" \
    -e "s|@DEPENDS@|$depends|" "$here/control.in" > "$root/DEBIAN/control"
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z | xargs -0 md5sum) \
    > "$root/DEBIAN/md5sums"

deb=$outdir/waystation_${version}_${arch}.deb
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "$deb"
dpkg-deb --field "$deb" Version Depends Installed-Size | sed 's/^/  /' >&2

if [ "$run_lintian" = 1 ]; then
    command -v lintian >/dev/null || { echo "build-deb.sh: lintian is missing (apt-get install lintian)" >&2; exit 1; }
    # lintian's exit status is non-zero on errors only (the default --fail-on).
    lintian --display-info "$deb" >&2
fi
