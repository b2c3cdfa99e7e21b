#!/usr/bin/env bash
# package-test.sh: the install paths, end to end (`make package-test`, run by .ci/run).
#  1. `cmake --install` of the main build into a temporary prefix; a project outside the tree
#     (examples/consumer) builds the tutorial's program with find_package(ringv8) and runs it.
#  2. The Debian packages build (scripts/make-deb.sh); they hold exactly the intended files;
#     lintian reports no error (warnings are printed).
#  3. As root: both packages install, `systemd-analyze verify` accepts every unit, the installed
#     ringv8 works (version, a one-second tracker), the consumer builds against the installed
#     -dev package, and purging removes every file the packages installed.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "package-test: $*" >&2; exit 1; }

consumer() {  # consumer PREFIX: builds and runs examples/consumer against ringv8 at PREFIX.
  local dir="$work/consumer-$(basename "$1")"
  mkdir -p "$dir/examples/consumer"
  cp "$root"/examples/hello_* "$dir/examples/"
  cp "$root/examples/consumer/CMakeLists.txt" "$dir/examples/consumer/"
  cmake -S "$dir/examples/consumer" -B "$dir/build" -DCMAKE_PREFIX_PATH="$1" >/dev/null ||
    fail "the consumer project does not configure against $1"
  cmake --build "$dir/build" -j "$(nproc)" >/dev/null || fail "the consumer does not build"
  "$dir/build/hello" >/dev/null 2>&1 || fail "the consumer's program failed"
  echo "package-test: a project outside the tree built and ran with find_package(ringv8) ($1)"
}

echo "== cmake --install into a prefix"
cmake --install "$build" --prefix "$work/prefix" >/dev/null
for f in bin/ringv8 lib/cmake/ringv8/ringv8Config.cmake include/ringv8/node/node.h \
  include/ringv8/tunnel/tunnel_community.h share/man/man1/ringv8.1 etc/ringv8/relay.json \
  lib/systemd/system/ringv8-relay@.service lib/systemd/system/ringv8-exit@.service \
  etc/ringv8/exit.json lib/sysctl.d/60-ringv8.conf; do
  [ -e "$work/prefix/$f" ] || fail "cmake --install did not install $f"
done
consumer "$work/prefix"

echo "== Debian packages"
mapfile -t debs < <("$root/scripts/make-deb.sh" "$root/build-deb" "$work/debs")
runtime=${debs[0]}
dev=${debs[1]}
contents() { dpkg-deb --contents "$1" | awk '{print $6}' | sed 's|^\./|/|' | grep -v '/$' | sort; }
version=$(sed -n 's/^project(ringv8 VERSION \([0-9.]*\).*/\1/p' "$root/CMakeLists.txt")
expected_runtime=$(printf '%s\n' /usr/bin/ringv8 \
  /lib/systemd/system/ringv8@.service /lib/systemd/system/ringv8-tracker@.service \
  /lib/systemd/system/ringv8-relay@.service /lib/systemd/system/ringv8-exit@.service \
  /etc/ringv8/default.json /etc/ringv8/relay.json /etc/ringv8/exit.json \
  /etc/ringv8/community.json /etc/ringv8/lan.json \
  /usr/lib/sysctl.d/60-ringv8.conf \
  /usr/share/man/man1/ringv8.1.gz /usr/share/man/man5/ringv8.json.5.gz \
  /usr/share/doc/ringv8/README.md.gz /usr/share/doc/ringv8/operations.md.gz \
  /usr/share/doc/ringv8/copyright /usr/share/doc/ringv8/changelog.gz | sort)
[ "$(contents "$runtime")" = "$expected_runtime" ] ||
  { diff <(contents "$runtime") <(echo "$expected_runtime") >&2; fail "ringv8's files differ"; }
# ringv8-dev: every header of the installed components, their libraries, the CMake package.
libdir=/usr/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH)
expected_dev=$(
  cd "$root"
  for c in ring wire overlay tracker tunnel strategies node; do
    find "$c" -name '*.h' -printf "/usr/include/ringv8/%p\n"
    echo "$libdir/libringv8_$c.a"
  done
  printf '%s\n' "$libdir/cmake/ringv8/ringv8Config.cmake" \
    "$libdir/cmake/ringv8/ringv8ConfigVersion.cmake" "$libdir/cmake/ringv8/ringv8Targets.cmake" \
    "$libdir/cmake/ringv8/ringv8Targets-release.cmake" \
    /usr/share/doc/ringv8-dev/copyright /usr/share/doc/ringv8-dev/changelog.gz
)
expected_dev=$(echo "$expected_dev" | sort)
[ "$(contents "$dev")" = "$expected_dev" ] ||
  { diff <(contents "$dev") <(echo "$expected_dev") >&2; fail "ringv8-dev's files differ"; }
echo "package-test: $(basename "$runtime") and $(basename "$dev") hold exactly the intended files"
lintian_out=$(lintian --fail-on error "$runtime" "$dev" 2>&1) ||
  { echo "$lintian_out" >&2; fail "lintian reports errors"; }
lintian_out=$(echo "$lintian_out" | grep -v 'running with root privileges' || true)
echo "package-test: lintian: no errors${lintian_out:+; it says:}"
if [ -n "$lintian_out" ]; then echo "$lintian_out" | sed 's/^/  /'; fi

if [ "$(id -u)" -ne 0 ]; then
  echo "package-test: not root: installing the packages is skipped"
  exit 0
fi
echo "== install, use, purge"
dpkg -i "$runtime" "$dev" >/dev/null || fail "dpkg -i failed"
for unit in ringv8@.service ringv8-tracker@.service ringv8-relay@.service ringv8-exit@.service; do
  out=$(systemd-analyze verify "/lib/systemd/system/$unit" 2>&1) ||
    { echo "$out" >&2; fail "systemd-analyze rejects $unit"; }
  [ -z "$out" ] || { echo "$out" >&2; fail "systemd-analyze complains about $unit"; }
done
echo "package-test: systemd-analyze verify accepts every unit"
/usr/bin/ringv8 version | grep -q "ringv8 $version" || fail "ringv8 version does not say $version"
/usr/bin/ringv8 tracker --port 0 --duration 1 --json 2>/dev/null | grep -q '"ignored"' ||
  fail "the installed tracker did not run"
systemctl is-enabled ringv8-relay@8090.service >/dev/null 2>&1 &&
  fail "installing enabled a service"
echo "package-test: the installed ringv8 runs (version, a 1-second tracker), nothing enabled"
consumer /usr
installed=$( (contents "$runtime"; contents "$dev") | sort -u)
dpkg --purge ringv8-dev ringv8 >/dev/null || fail "dpkg --purge failed"
left=$(while read -r f; do if [ -e "$f" ]; then echo "$f"; fi; done <<<"$installed")
[ -z "$left" ] || { echo "$left" >&2; fail "purge left files behind"; }
[ ! -e /etc/ringv8 ] || fail "purge left /etc/ringv8"
echo "package-test: purging removed every installed file"
