#!/usr/bin/env bash
# make-deb.sh [BUILD_DIR] [OUT_DIR]: builds the Debian packages ringv8_<version>_amd64.deb (the
# binary, systemd units, configurations in /etc/ringv8 as conffiles, the sysctl drop-in, man
# pages, docs) and ringv8-dev_<version>_amd64.deb (headers, static libraries, CMake package) from
# this tree, with Debian's hardening flags, in BUILD_DIR (default build-deb) and writes them to
# OUT_DIR (default: the tree's root). The runtime package's dependencies come from its shared
# libraries (dpkg-shlibdeps). Installing either starts and enables nothing.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(realpath -m "${1:-$root/build-deb}")
out=$(realpath -m "${2:-$root}")
version=$(sed -n 's/^project(ringv8 VERSION \([0-9.]*\).*/\1/p' "$root/CMakeLists.txt")
arch=$(dpkg --print-architecture)
maintainer="ringv8 developers <ringv8-dev@lists.example.org>"
date=$(date -R -u -d "@${SOURCE_DATE_EPOCH:-$(git -C "$root" log -1 --format=%ct 2>/dev/null || date +%s)}")
export SOURCE_DATE_EPOCH=$(date -u -d "$date" +%s)

export DEB_BUILD_MAINT_OPTIONS=hardening=+all
CXXFLAGS="$(dpkg-buildflags --get CXXFLAGS) $(dpkg-buildflags --get CPPFLAGS)"
LDFLAGS="$(dpkg-buildflags --get LDFLAGS)"
export CXXFLAGS LDFLAGS
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DRINGV8_BUILD_TESTS=OFF \
  -DRINGV8_BUILD_BENCH=OFF -DCMAKE_INSTALL_PREFIX=/usr -DRINGV8_INSTALL_SYSCONFDIR=/etc \
  -DRINGV8_SYSTEMD_UNITDIR=/lib/systemd/system -DRINGV8_SYSCTLDIR=/usr/lib/sysctl.d >/dev/null
cmake --build "$build" -j "$(nproc)" >&2

stage="$build/stage"
rm -rf "$stage"
DESTDIR="$stage/ringv8" cmake --install "$build" --component runtime --strip >/dev/null
DESTDIR="$stage/ringv8-dev" cmake --install "$build" --component dev >/dev/null
find "$stage/ringv8-dev" -name '*.a' -exec strip --strip-debug {} +

changelog() {  # changelog PACKAGE DOCDIR
  mkdir -p "$2"
  printf '%s (%s) unstable; urgency=medium\n\n  * Built from the ringv8 tree (%s).\n\n -- %s  %s\n' \
    "$1" "$version" "$(git -C "$root" describe --always --dirty 2>/dev/null || echo unknown)" \
    "$maintainer" "$date" | gzip -9n >"$2/changelog.gz"  # A native package: changelog.gz.
}

# ringv8: man pages and large docs compressed, as Debian policy asks.
runtime="$stage/ringv8"
gzip -9n "$runtime/usr/share/man/man1/ringv8.1" "$runtime/usr/share/man/man5/ringv8.json.5"
gzip -9n "$runtime/usr/share/doc/ringv8/README.md" "$runtime/usr/share/doc/ringv8/operations.md"
changelog ringv8 "$runtime/usr/share/doc/ringv8"
# ringv8-dev: its own copyright and changelog.
dev="$stage/ringv8-dev"
mkdir -p "$dev/usr/share/doc/ringv8-dev"
cp "$root/packaging/copyright" "$dev/usr/share/doc/ringv8-dev/copyright"
changelog ringv8-dev "$dev/usr/share/doc/ringv8-dev"

# The runtime package's dependencies, from the libraries the binary links.
shlibs_dir=$(mktemp -d)
mkdir -p "$shlibs_dir/debian"
printf 'Source: ringv8\n\nPackage: ringv8\nArchitecture: any\n' >"$shlibs_dir/debian/control"
depends=$(cd "$shlibs_dir" && dpkg-shlibdeps -O -e "$runtime/usr/bin/ringv8" 2>/dev/null |
  sed -n 's/^shlibs:Depends=//p')
rm -rf "$shlibs_dir"

control() {  # control DIR PACKAGE SECTION DEPENDS DESCRIPTION...
  local dir=$1 package=$2 section=$3 deps=$4
  shift 4
  mkdir -p "$dir/DEBIAN"
  {
    echo "Package: $package"
    echo "Version: $version"
    echo "Architecture: $arch"
    echo "Maintainer: $maintainer"
    echo "Installed-Size: $(du -sk --exclude=DEBIAN "$dir" | cut -f1)"
    echo "Depends: $deps"
    echo "Section: $section"
    echo "Priority: optional"
    printf '%s\n' "$@"
  } >"$dir/DEBIAN/control"
  (cd "$dir" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z |
    xargs -0 md5sum >DEBIAN/md5sums)
}

control "$runtime" ringv8 net "$depends" \
  "Description: IPv8 node, tracker and tunnel relay, byte-compatible with py-ipv8" \
  " ringv8 is IPv8, the peer-to-peer overlay layer of Tribler, in C++20 for Linux" \
  " servers. It runs nodes from py-ipv8's JSON configuration, bootstrap trackers" \
  " and relays of Tribler's anonymity network on an io_uring UDP endpoint with" \
  " batched, GSO/GRO-offloaded sends and receives." \
  " ." \
  " This package has the ringv8 command, systemd units for a node, a tracker and a" \
  " relay (none is enabled on installation), example configurations and a sysctl" \
  " drop-in for larger socket buffers."
find "$runtime/etc" -type f -printf '/etc/%P\n' | sort >"$runtime/DEBIAN/conffiles"

control "$dev" ringv8-dev libdevel \
  "liburing-dev, libsodium-dev, libssl-dev, nlohmann-json3-dev, libfmt-dev, libspdlog-dev" \
  "Description: IPv8 library, byte-compatible with py-ipv8 - development files" \
  " ringv8 is IPv8, the peer-to-peer overlay layer of Tribler, in C++20 for Linux" \
  " servers." \
  " ." \
  " This package has the static libraries, their headers and the CMake package:" \
  " find_package(ringv8) gives ringv8::ring, ringv8::wire, ringv8::overlay," \
  " ringv8::tracker, ringv8::tunnel, ringv8::strategies and ringv8::node."

mkdir -p "$out"
for package in ringv8 ringv8-dev; do
  find "$stage/$package" -type d -exec chmod 0755 {} +
  dpkg-deb --root-owner-group -Zxz --build "$stage/$package" \
    "$out/${package}_${version}_${arch}.deb" >/dev/null
  echo "$out/${package}_${version}_${arch}.deb"
done
