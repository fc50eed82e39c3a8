#!/usr/bin/env bash
# Installs the Debian packages qbopt needs, only those missing (needs root for apt-get).
set -euo pipefail
packages=(
  cmake g++ make
  libeigen3-dev liblbfgspp-dev libspectra-dev libcli11-dev nlohmann-json3-dev libtomlplusplus-dev
  libgtest-dev libbenchmark-dev
  libopenmpi-dev openmpi-bin  # qbopt sweep across machines (mpirun); optional: QBOPT_MPI=OFF builds without
  libopenblas0-pthread  # NumPy on OpenBLAS, as in the paper (peer benchmarks)
  python3-venv python3-pip python3-setuptools python3-wheel  # pip install of the package (pyproject.toml)
  pybind11-dev python3-dev python3-numpy python3-scipy python3-matplotlib python3-qutip python3-pytest
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
