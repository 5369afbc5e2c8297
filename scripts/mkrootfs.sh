#!/usr/bin/env bash
# mkrootfs.sh DIR — build a minimal root filesystem for mydocker in DIR.
#
#   scripts/mkrootfs.sh rootfs                   # busybox root (Debian's busybox-static)
#   FROM=busybox.tar scripts/mkrootfs.sh rootfs  # extract a `docker export` tarball instead
#   CLEAN=1 scripts/mkrootfs.sh rootfs           # empty DIR first (keeps DIR/.gitkeep)
#
# Idempotent: running it twice gives the same tree. Needs root (chown, mknod-free).
set -euo pipefail

die() { echo "mkrootfs: $*" >&2; exit 1; }

[ $# -eq 1 ] || die "usage: [FROM=image.tar] [CLEAN=1] $0 DIR"
DIR=$1
[ -n "$DIR" ] || die "empty DIR"
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd -P)
case "$DIR" in
  / | /bin | /etc | /usr | /var | /root | /home | /tmp) die "refusing to use $DIR as a rootfs" ;;
esac

# Refuse to touch a rootfs that something (a running/leaked container) still has
# mounts under: deleting or overwriting through a live mount would hit the host.
if awk -v d="$DIR/" '{ if (index($5 "/", d) == 1) found = 1 } END { exit !found }' /proc/self/mountinfo; then
  die "$DIR has mounts under it (a container still running?); unmount them first"
fi

clean_dir() {
  # Remove everything except .gitkeep; never cross into another filesystem.
  find "$DIR" -mindepth 1 -maxdepth 1 ! -name .gitkeep -exec rm -rf --one-file-system -- {} +
}

apt_install() {
  echo "mkrootfs: installing $*" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "$@" >/dev/null
}

if [ -n "${FROM:-}" ]; then
  [ -f "$FROM" ] || die "FROM=$FROM: no such file"
  # A tarball is always extracted into an empty directory so the result is
  # exactly the image (idempotent, nothing left over from a previous root).
  clean_dir
  tar --numeric-owner --xattrs --xattrs-include='*' -xpf "$FROM" -C "$DIR"
  # docker export already has these, but make sure the mount points exist.
  mkdir -p "$DIR/proc" "$DIR/sys" "$DIR/dev" "$DIR/tmp" "$DIR/root"
  chmod 1777 "$DIR/tmp"
  echo "mkrootfs: extracted $FROM into $DIR"
  exit 0
fi

[ "${CLEAN:-0}" = 1 ] && clean_dir

# --- busybox root --------------------------------------------------------
BUSYBOX=/bin/busybox
if ! dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'ok installed'; then
  apt_install busybox-static
fi
[ -x "$BUSYBOX" ] || die "$BUSYBOX missing even after installing busybox-static"
if ldd "$BUSYBOX" >/dev/null 2>&1; then
  die "$BUSYBOX is dynamically linked; install busybox-static"
fi

mkdir -p "$DIR/bin" "$DIR/sbin" "$DIR/usr/bin" "$DIR/usr/sbin" "$DIR/etc"
# Copy (not link) so the rootfs is self-contained; only rewrite when it changed.
if ! cmp -s "$BUSYBOX" "$DIR/bin/busybox"; then
  install -m 0755 "$BUSYBOX" "$DIR/bin/busybox.new"
  mv -f "$DIR/bin/busybox.new" "$DIR/bin/busybox"
fi

# One relative symlink per applet (relative so they also resolve when the tree
# is inspected from the host): usr/bin/env -> ../../bin/busybox.
n=0
while IFS= read -r applet; do
  applet=${applet#/}
  [ -n "$applet" ] || continue
  # bin/busybox is the binary itself; linuxrc is an initrd-only applet that would
  # only clutter the container's / (docker's busybox image has none).
  case "$applet" in bin/busybox | linuxrc) continue ;; esac
  dir=${applet%/*}
  [ "$dir" = "$applet" ] && dir=.
  up=""
  if [ "$dir" != . ]; then
    IFS=/ read -ra parts <<<"$dir"
    for _ in "${parts[@]}"; do up="../$up"; done
  fi
  target="${up}bin/busybox"
  [ "$dir" = bin ] && target=busybox
  mkdir -p "$DIR/$dir"
  if [ "$(readlink "$DIR/$applet" 2>/dev/null || true)" != "$target" ]; then
    rm -rf --one-file-system -- "${DIR:?}/$applet"
    ln -s "$target" "$DIR/$applet"
  fi
  n=$((n + 1))
done < <("$BUSYBOX" --list-full)

# Minimal /etc. Written only when the content differs (keeps mtimes stable).
put() { # put PATH MODE <<<content
  local path=$DIR/$1 mode=$2 content
  content=$(cat; echo x); content=${content%x}
  if [ ! -f "$path" ] || [ "$(cat "$path"; echo x)" != "${content}x" ]; then
    rm -f "$path"
    printf '%s' "$content" >"$path"
  fi
  chmod "$mode" "$path"
}
put etc/passwd 0644 <<'EOF'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
put etc/group 0644 <<'EOF'
root:x:0:
nogroup:x:65534:
EOF
put etc/hostname 0644 <<'EOF'
mydocker
EOF
put etc/hosts 0644 <<'EOF'
127.0.0.1	localhost
::1	localhost ip6-localhost ip6-loopback
EOF
# (empty: a container gets its own, bind-mounted over it, as docker images have one)
put etc/resolv.conf 0644 </dev/null

# Empty mount points and home.
mkdir -p "$DIR/proc" "$DIR/sys" "$DIR/dev" "$DIR/tmp" "$DIR/root"
chmod 0555 "$DIR/proc" "$DIR/sys"
chmod 0755 "$DIR/dev"
chmod 1777 "$DIR/tmp"
chmod 0700 "$DIR/root"

echo "mkrootfs: busybox root in $DIR ($n applets)"
