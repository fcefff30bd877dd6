#!/usr/bin/env bash
# The Debian package's test (ctest -L package; README, "Packaging"):
#  1. builds the .deb with cpack from a configured and built build folder;
#  2. inspects it: control fields, Depends from dpkg-shlibdeps, the files,
#     conffiles, the maintainer scripts;
#  3. installs it with dpkg -i into a throwaway root: an overlay of this
#     machine's / (its own dpkg database, users, /etc) in a private mount and
#     network namespace, entered with chroot; every write lands in a tmpfs
#     that is gone when the test ends, so the machine itself never sees the
#     package, the user or a running service. There it checks the user, the
#     files, `trailwatch check` (as root and as the trailwatch user), the
#     shipped rules' tests, that the service is not enabled, that the
#     daemon runs as the user and alerts on a line of /var/log/auth.log,
#     that a reinstall keeps an edited conffile, and that purge removes
#     state, logs and /etc/trailwatch.
# Usage: deploy/package-test.sh [BUILD_DIR]   (default: build)
# Needs root (namespaces, overlayfs, chroot); exits 77 (skipped) without.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)

skip() {
  echo "package-test: SKIPPED: $*"
  exit 77
}
fail() {
  echo "package-test: FAILED: $*" >&2
  exit 1
}
[[ $(id -u) -eq 0 ]] || skip "needs root: mount namespace, overlayfs, chroot"
for tool in cpack dpkg-deb dpkg-shlibdeps unshare chroot; do
  command -v "$tool" >/dev/null || fail "$tool is missing (deploy/install-deps.sh installs it)"
done
unshare --mount --net --pid --fork true 2>/dev/null ||
  skip "cannot create mount, network and PID namespaces here"

work=$(mktemp -d /tmp/trailwatch-package.XXXXXX)
trap 'rm -rf "$work"' EXIT

version=$("$build/daemon/trailwatch" --version | awk '{print $2}')
[[ -n $version ]] || fail "cannot read the version from $build/daemon/trailwatch --version"

echo "== cpack -G DEB ($build) (at ${SECONDS}s)"
(cd "$work" && cpack -G DEB --config "$build/CPackConfig.cmake" -B "$work/out" >"$work/cpack.log" 2>&1) ||
  {
    cat "$work/cpack.log"
    fail "cpack"
  }
deb=$(echo "$work"/out/trailwatch_*.deb)
[[ -f $deb ]] || fail "cpack made no trailwatch_*.deb: $(ls "$work/out")"
echo "package: $(basename "$deb"), $(du -k "$deb" | cut -f1) KiB"

echo "== dpkg-deb -I (at ${SECONDS}s)"
dpkg-deb -I "$deb"
field() { dpkg-deb -f "$deb" "$1"; }
[[ $(field Package) == trailwatch ]] || fail "Package: $(field Package)"
[[ $(field Version) == "$version" ]] || fail "Version $(field Version), binary says $version"
[[ $(field Section) == admin ]] || fail "Section: $(field Section)"
[[ -n $(field Maintainer) ]] || fail "no Maintainer"
depends=$(field Depends)
for lib in libc6 libstdc++6 libre2 libyaml-cpp libssl3 libsystemd0 "systemd | adduser"; do
  [[ $depends == *"$lib"* ]] || fail "Depends lacks $lib: $depends"
done

echo "== dpkg-deb -c (at ${SECONDS}s)"
dpkg-deb -c "$deb" | awk '{print $6}' | sed 's#^\./#/#; s#/$##' | sort >"$work/files"
expect=(
  /usr/bin/trailwatch
  /usr/lib/systemd/system/trailwatch.service
  /usr/lib/sysusers.d/trailwatch.conf
  /etc/trailwatch/trailwatch.yaml
  /etc/trailwatch/lookups/sudo_allowed_users.txt
  /usr/share/trailwatch/demo/trailwatch.yaml
  /usr/share/doc/trailwatch/README.md
)
[[ -f $root/systemd/trailwatch.socket ]] && expect+=(/usr/lib/systemd/system/trailwatch.socket)
for dir in prometheus alertmanager grafana; do
  [[ -d $root/deploy/$dir ]] || continue
  while IFS= read -r f; do expect+=("/usr/share/trailwatch/$dir/${f#"$root/deploy/$dir/"}"); done \
    < <(find "$root/deploy/$dir" -type f)
done
while IFS= read -r f; do expect+=("/usr/share/trailwatch/rules/${f#"$root/rules/"}"); done \
  < <(find "$root/rules" -type f)
for f in "${expect[@]}"; do
  grep -qxF "$f" "$work/files" || fail "the package lacks $f"
done
echo "${#expect[@]} expected files present ($(wc -l <"$work/files") entries in all)"
dpkg-deb --fsys-tarfile "$deb" | tar -xOf - ./usr/bin/trailwatch >"$work/trailwatch.bin"
if readelf -S "$work/trailwatch.bin" | grep '\.debug_info' >/dev/null; then
  fail "/usr/bin/trailwatch is not stripped"
fi

dpkg-deb -e "$deb" "$work/control"
# Every file under /etc is a conffile, and every conffile is in the package.
etc_files=$(dpkg-deb -c "$deb" | awk '$1 !~ /^d/ {print $6}' | sed 's#^\./#/#' | grep '^/etc/' | sort)
[[ $etc_files == "$(sort "$work/control/conffiles")" ]] ||
  fail "conffiles ($(tr '\n' ' ' <"$work/control/conffiles")) != files under /etc (${etc_files//$'\n'/ })"
for script in postinst prerm postrm; do
  [[ -x $work/control/$script ]] || fail "maintainer script $script missing or not executable"
  sh -n "$work/control/$script" || fail "$script: syntax error"
done
echo "conffiles: $(wc -l <"$work/control/conffiles"); scripts: postinst prerm postrm"

echo "== install into a throwaway root (overlay of /; private mount, PID, network namespaces) (at ${SECONDS}s)"
cp "$deb" "$work/trailwatch.deb"
cp "$root/deploy/package/install-test-inside.sh" "$work/inside.sh"
# --kill-child: whatever the test leaves running dies with it.
# shellcheck disable=SC2016 # expanded by the inner bash
unshare --mount --net --pid --fork --kill-child --propagation private bash -euo pipefail -c '
  work=$1
  mkdir "$work/ovl"
  mount -t tmpfs -o size=512m tmpfs "$work/ovl"
  mkdir -p "$work/ovl/upper" "$work/ovl/work" "$work/ovl/root"
  mount -t overlay overlay -o "lowerdir=/,upperdir=$work/ovl/upper,workdir=$work/ovl/work" "$work/ovl/root"
  r=$work/ovl/root
  mount -t proc proc "$r/proc"
  mount --rbind /dev "$r/dev"
  mount --rbind /sys "$r/sys"
  # No systemd in here: the maintainer scripts must not reach the real one.
  mount -t tmpfs tmpfs "$r/run"
  mount -t tmpfs tmpfs "$r/tmp"
  cp "$work/trailwatch.deb" "$work/inside.sh" "$r/tmp/"
  ip link set lo up
  chroot "$r" /bin/bash /tmp/inside.sh "$2"
' package-test "$work" "$version"
echo "package-test: OK in ${SECONDS}s"
