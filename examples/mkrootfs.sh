#!/bin/sh
# SPDX-License-Identifier: MIT
# Builds a small rootfs from Debian's busybox-static, for
# `minit --new-container`, the tests and the benchmarks.
#
#     sh examples/mkrootfs.sh DIR        (BUSYBOX=/path/to/busybox to choose another)
#
# DIR gets bin/busybox, a symlink to /bin/busybox for every applet of
# `busybox --list-full` (what `busybox --install -s` makes, without running
# anything inside DIR), the usual empty directories (/tmp and /var/tmp 1777),
# and /etc/passwd, /etc/group and /etc/hosts with root and nobody/nogroup.
# /dev, /proc and /sys are left empty: the container builder mounts them.
#
# Idempotent: the tree is built in a temporary directory next to DIR and
# renamed into place only when complete, so a half-built rootfs is never
# seen at DIR; running it again replaces DIR with a fresh copy.
set -eu

usage() {
    echo "usage: $0 DIR" >&2
    exit 2
}
[ $# -eq 1 ] || usage
[ -n "$1" ] || usage

dir=${1%/}
[ -n "$dir" ] || { echo "mkrootfs: refusing to build into /" >&2; exit 2; }
bb=${BUSYBOX:-/bin/busybox}

if [ ! -x "$bb" ]; then
    echo "mkrootfs: $bb not found; install it: apt-get install busybox-static" >&2
    exit 1
fi
# A dynamic busybox would need its libraries inside the rootfs.
if command -v file >/dev/null 2>&1; then
    if ! file -L "$bb" | grep -q 'statically linked'; then
        echo "mkrootfs: $bb is not statically linked; install busybox-static" >&2
        exit 1
    fi
fi

parent=$(dirname "$dir")
name=$(basename "$dir")
mkdir -p "$parent"
tmp=$(mktemp -d "$parent/.$name.new.XXXXXX")
old=""
cleanup() {
    [ -n "$tmp" ] && rm -rf "$tmp"
    [ -n "$old" ] && rm -rf "$old"
    return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# Directories (mktemp made $tmp 0700; a rootfs root is 0755).
chmod 0755 "$tmp"
for d in bin sbin usr/bin usr/sbin etc proc sys dev run home var; do
    mkdir -p "$tmp/$d"
    chmod 0755 "$tmp/$d"
done
mkdir -p "$tmp/root" "$tmp/tmp" "$tmp/var/tmp"
chmod 0700 "$tmp/root"
chmod 1777 "$tmp/tmp" "$tmp/var/tmp"

# busybox and its applets, as `busybox --install -s` would link them.
cp "$bb" "$tmp/bin/busybox"
chmod 0755 "$tmp/bin/busybox"
n=0
set -f # applet names like "[" are not patterns
for applet in $("$bb" --list-full); do
    case $applet in
    bin/busybox | linuxrc) continue ;;
    */*) ;;
    *) continue ;; # an applet without a directory: nowhere to put it
    esac
    mkdir -p "$tmp/$(dirname "$applet")"
    ln -sf /bin/busybox "$tmp/$applet"
    n=$((n + 1))
done
set +f
if [ "$n" -lt 10 ] || [ ! -L "$tmp/bin/sh" ]; then
    echo "mkrootfs: $bb --list-full gave $n applets and no bin/sh" >&2
    exit 1
fi

# Users and groups: root and nobody/nogroup.
cat >"$tmp/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
cat >"$tmp/etc/group" <<'EOF'
root:x:0:
nogroup:x:65534:
EOF
cat >"$tmp/etc/hosts" <<'EOF'
127.0.0.1	localhost
::1	localhost ip6-localhost ip6-loopback
EOF
chmod 0644 "$tmp/etc/passwd" "$tmp/etc/group" "$tmp/etc/hosts"

# Into place: DIR is replaced by two renames, the old tree removed after.
if [ -e "$dir" ] || [ -L "$dir" ]; then
    old=$(mktemp -d "$parent/.$name.old.XXXXXX")
    mv "$dir" "$old/tree"
fi
mv "$tmp" "$dir"
tmp=""
echo "  ROOTFS  $dir ($n applets)"
