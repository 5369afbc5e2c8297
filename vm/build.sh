#!/usr/bin/env bash
# vm/build.sh — prepare what `make test-vm` boots, cached under .vm/ (git-ignored):
#
#   .vm/kernel/<pkg>/vmlinuz            Debian's stable kernel (linux-image-amd64's exact package)
#   .vm/kernel/<pkg>/modules/*.ko       the modules the guest loads (virtio, 9p, overlay, networking),
#                                       deps first; modules/wanted: the MODULES_WANTED they were made
#                                       for (another list rebuilds them from the kept .deb)
#   .vm/kernel/<pkg>/<pkg>.deb          the kernel package, kept for that
#   .vm/kernel/current                  which <pkg> the cache holds (no apt query once it is set)
#   .vm/initramfs.gz                    busybox, glibc, script(1), GNU tar, nft, ip, tini-static, the modules, vm/init
#   .vm/initramfs.key                   hash of the initramfs inputs; rebuilt only when it changes
#
# Only the kernel package is downloaded (once). Everything else comes from this machine's Debian
# packages (qemu-system-x86, busybox-static, libc6, bsdutils, tar, nftables, iproute2) and the project. The project
# itself, the rootfs and the bun executable are NOT in the image: vm/run.sh shares them with 9p.
#
#   vm/build.sh          build what is missing; prints nothing more when all is cached
#   BUN=/path/bun        the bun whose libraries go into the image (default: bun on PATH)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
VM=.vm
BUN=${BUN:-bun}
say() { echo "vm: $*" >&2; }
die() { echo "vm: error: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (apt-get, and the guest's files must be root-owned)"
export DEBIAN_FRONTEND=noninteractive

apt_updated=
apt_update() { [ -n "$apt_updated" ] || { apt-get update -qq; apt_updated=1; }; }
need_pkg() { # PKG... — install the Debian packages that are missing
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return
  say "apt-get install ${missing[*]}"
  apt_update
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

need_pkg qemu-system-x86 busybox-static bsdutils tar xz-utils nftables iproute2 tini
mkdir -p "$VM/kernel"

# ------------------------------------------------------------------ kernel
# `apt-get download 'linux-image-6.1.0-*-amd64'` would fetch every ABI version (GBs): resolve the
# one package the linux-image-amd64 metapackage depends on, download that, unpack with dpkg -x.
#
# The modules, each with its dependencies (loaded first). The kernel cannot load modules on
# demand in the guest (no modprobe/depmod tree), so everything a test may need is listed here:
#   virtio_pci 9pnet_virtio 9p overlay     the shares and image layers
#   crc32c_generic                         libcrc32c (nf_tables, nf_conntrack, nf_nat) asks the
#                                          crypto API for "crc32c" at load: only a soft dependency
#   nf_tables nft_chain_nat nft_nat nft_masq nft_ct nft_fib_ipv4
#                                          mydocker's table (src/network/nft.ts): nat chains, dnat,
#                                          masquerade, ct status, fib daddr type local (meta, cmp,
#                                          payload, sets, immediate are in nf_tables itself)
#   veth bridge br_netfilter               the networks (br_netfilter: bridged traffic through the
#                                          ip hooks, as on hosts where docker runs)
#   dummy                                  the guest's stand-in for a host NIC (vm/init)
MODULES_WANTED="virtio_pci 9pnet_virtio 9p overlay crc32c_generic nf_tables nft_chain_nat nft_nat nft_masq nft_ct nft_fib_ipv4 veth bridge br_netfilter dummy"
pkg=$(cat "$VM/kernel/current" 2>/dev/null || true)
if [ -z "$pkg" ] || [ ! -s "$VM/kernel/$pkg/vmlinuz" ] || [ ! -s "$VM/kernel/$pkg/modules/load.order" ] ||
  [ "$(cat "$VM/kernel/$pkg/modules/wanted" 2>/dev/null)" != "$MODULES_WANTED" ]; then
  if [ -z "$pkg" ] || [ ! -s "$VM/kernel/$pkg/$pkg.deb" ]; then
    resolve() { apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ { print $2; exit }'; }
    pkg=$(resolve || true)
    if [ -z "$pkg" ]; then apt_update; pkg=$(resolve || true); fi
    [ -n "$pkg" ] || die "apt-cache depends linux-image-amd64 names no linux-image-<abi>-amd64 package"
  fi
  dest="$VM/kernel/$pkg"
  rm -rf "$VM/kernel/dl"
  mkdir -p "$VM/kernel/dl" "$dest"
  if [ ! -s "$dest/$pkg.deb" ]; then
    say "downloading $pkg (once; cached in $dest)"
    # apt-get download drops privileges to _apt when it can; an absolute dir avoids its warning noise
    (cd "$VM/kernel/dl" && apt-get download -qq "$pkg" 2>&1 | grep -v 'unsandboxed' >&2 || true)
    deb=$(ls "$VM/kernel/dl/${pkg}_"*.deb 2>/dev/null | head -n1)
    [ -n "$deb" ] || die "apt-get download $pkg gave no .deb"
    mv -f "$deb" "$dest/$pkg.deb.tmp" && mv -f "$dest/$pkg.deb.tmp" "$dest/$pkg.deb"
  fi
  rm -rf "$dest/modules"
  mkdir -p "$dest/modules"
  dpkg -x "$dest/$pkg.deb" "$VM/kernel/dl/x"
  kver=$(ls "$VM/kernel/dl/x/lib/modules")
  cp "$VM/kernel/dl/x/boot/vmlinuz-$kver" "$dest/vmlinuz"
  echo "$kver" > "$dest/version"

  # Module dependencies without depmod: every .ko carries "depends=a,b" in .modinfo.
  moddir="$VM/kernel/dl/x/lib/modules/$kver/kernel"
  declare -A path_of=() loaded=()
  while IFS= read -r f; do
    n=$(basename "$f"); n=${n%%.ko*}; path_of[${n//-/_}]=$f
  done < <(find "$moddir" -name '*.ko' -o -name '*.ko.xz' -o -name '*.ko.zst' -o -name '*.ko.gz')
  ko_text() { case "$1" in *.xz) xz -dc "$1" ;; *.zst) zstd -dcq "$1" ;; *.gz) gzip -dc "$1" ;; *) cat "$1" ;; esac; }
  order=()
  add_module() { # NAME — its dependencies first, then itself
    local n=${1//-/_} f deps d
    [ -z "${loaded[$n]:-}" ] || return 0
    loaded[$n]=1
    f=${path_of[$n]:-}
    [ -n "$f" ] || die "module $n not found in $pkg"
    deps=$(ko_text "$f" | tr '\0' '\n' | sed -n 's/^depends=//p' | head -n1)
    for d in ${deps//,/ }; do add_module "$d"; done
    ko_text "$f" > "$dest/modules/$n.ko"
    order+=("$n")
  }
  for m in $MODULES_WANTED; do add_module "$m"; done
  printf '%s\n' "${order[@]}" > "$dest/modules/load.order"
  echo "$MODULES_WANTED" > "$dest/modules/wanted"
  rm -rf "$VM/kernel/dl"
  echo "$pkg" > "$VM/kernel/current"
  say "kernel $kver, modules: ${order[*]}"
fi
KDIR="$VM/kernel/$pkg"

# ------------------------------------------------------------------ initramfs
BUN_EXE=$(readlink -f "$(command -v "$BUN")") || die "no $BUN on PATH (make deps)"
BUSYBOX=/bin/busybox
# Host tools the tests run besides bun and busybox applets: script(1) (bsdutils) gives the -ti
# tests a terminal; GNU tar (tar) writes the archives the image tests compare with.
# setpriv (util-linux) runs the host-safety tests' "another user" checks. nft (nftables): mydocker
# applies its network rules with `nft -f -`; ip (iproute2, before busybox's ip on PATH: /usr/sbin
# comes before /sbin) gives the network tests `ip -j`. Both run without files in /etc.
# tini-static (tini): what `run --init` binds into a container as its PID 1.
TOOLS=()
for t in script tar setpriv nft ip tini-static; do
  p=$(command -v "$t") || die "$t missing on this host"
  TOOLS+=("$p")
done
# The glibc pieces the dynamic executables need: bun, ./mydocker (a bun --compile binary: the
# same set), the tools; ffi/ dlopens libc.so.6, which is among them.
libs() { ldd "$@" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\/.*ld-linux/ { print $1 }' | sort -u; }
# libseccomp is dlopen'ed by mydocker (seccomp profiles), so ldd does not name it.
SECCOMP_LIB=$(ldconfig -p | awk '$1 == "libseccomp.so.2" && /x86-64/ { print $NF; exit }')
[ -n "$SECCOMP_LIB" ] || die "libseccomp.so.2 missing on this host (apt-get install libseccomp2)"
LIBS=$( { libs "$BUN_EXE" "${TOOLS[@]}"; echo "$SECCOMP_LIB"; } | sort -u)
[ -n "$LIBS" ] || die "ldd found no libraries for $BUN_EXE"

key=$( { echo "$pkg"; cat vm/init vm/build.sh "$KDIR/modules/load.order"; for f in $BUSYBOX "${TOOLS[@]}" $LIBS; do echo "$f"; stat -L -c '%s %Y' "$f"; done; } | sha256sum | cut -c1-16)
if [ -s "$VM/initramfs.gz" ] && [ "$(cat "$VM/initramfs.key" 2>/dev/null)" = "$key" ]; then
  exit 0
fi

say "building $VM/initramfs.gz"
stage="$VM/initramfs.d"
rm -rf "$stage"
mkdir -p "$stage"/{bin,sbin,usr/bin,etc,lib/modules,proc,sys,dev,tmp,run,root,mnt,newroot}
cp "$BUSYBOX" "$stage/bin/busybox"
for t in "${TOOLS[@]}"; do
  mkdir -p "$stage$(dirname "$t")"
  cp -L "$t" "$stage$t"
done
for l in $LIBS; do
  mkdir -p "$stage$(dirname "$l")"
  cp -L "$l" "$stage$l"
done
cp "$KDIR"/modules/*.ko "$KDIR/modules/load.order" "$stage/lib/modules/"
cp vm/init "$stage/init"
chmod 755 "$stage/init"
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' > "$stage/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$stage/etc/group"
printf '127.0.0.1 localhost\n::1 localhost\n' > "$stage/etc/hosts"
# protocol and service names for nft (netbase), when this host has them
for f in /etc/protocols /etc/services; do [ ! -r "$f" ] || cp -L "$f" "$stage$f"; done
(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort | "$BUSYBOX" cpio -o -H newc -R 0:0 2>/dev/null) | gzip -1 > "$VM/initramfs.gz.tmp"
mv -f "$VM/initramfs.gz.tmp" "$VM/initramfs.gz"
echo "$key" > "$VM/initramfs.key"
rm -rf "$stage"
say "initramfs: $(du -h "$VM/initramfs.gz" | cut -f1)"
