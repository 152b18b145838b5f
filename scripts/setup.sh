#!/usr/bin/env bash
# Installs every Debian 12 package the project needs to build, test, fuzz and benchmark.
# Idempotent; run as root (CI) or with sudo.
set -euo pipefail
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO=sudo; fi
packages=(
  # toolchain
  build-essential cmake ninja-build pkg-config clang libclang-rt-14-dev
  # libraries
  libabsl-dev libgtest-dev libgmock-dev nlohmann-json3-dev libcli11-dev libfmt-dev libspdlog-dev
  # layer files compress their pages and records with zstd
  libzstd-dev
  # tokens: JWTs (RS256) minted and verified with libjwt; test keys and certificates made with
  # the openssl command (scripts/make_test_pki.sh)
  libjwt-dev openssl
  # the page server: gRPC + protobuf, the HTTP API
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc libcpp-httplib-dev
  # /metrics: the registry and the Prometheus text format
  prometheus-cpp-dev
  # pagectl follow asks mariadbd how far its log is written (SHOW GLOBAL STATUS)
  libmariadb-dev
  # the compute presents the datadir to mariadbd through FUSE
  libfuse3-dev fuse3
  # remote storage: the S3 client (libcurl's SigV4, OpenSSL's SHA-256) and a real S3 server for
  # its tests (a single-node Ceph cluster with radosgw: scripts/radosgw.sh)
  libcurl4-openssl-dev libssl-dev radosgw ceph-mon ceph-osd ceph-common
  # the real peers the tests run against
  mariadb-server mariadb-backup mariadb-client sysbench
  # tools used by the integration scripts
  procps psmisc xxd curl
  # redo_scan.py (fixture checks); libext2fs2 gives it a fast CRC-32C (pure Python otherwise)
  python3 libext2fs2
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  # The mariadb-server package starts a system service; the tests never use it.
  echo exit 101 | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod +x /usr/sbin/policy-rc.d
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
  $SUDO rm -f /usr/sbin/policy-rc.d
fi
