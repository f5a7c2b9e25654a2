#!/usr/bin/env bash
# Optional CI step, run after the main test suite inside the already-active virtualenv:
# install transformer-lens<4 next to the torch that is already there, then check
# total_params against the models TransformerLens builds on the meta device.
# Prints how long the install and the tests took.
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python}

torch_version() {
    "$python" -c 'import importlib.metadata as m; print(m.version("torch"))'
}

before=$(torch_version)
constraints=$(mktemp)
trap 'rm -f "$constraints"' EXIT
# transformer-lens asks for torch too; pinning the installed build keeps pip from
# swapping it for another one (a CUDA build would bring gigabytes of nvidia-* wheels).
echo "torch==$before" >"$constraints"

start=$(date +%s)
"$python" -m pip install --quiet --constraint "$constraints" 'transformer-lens<4'
install_seconds=$(($(date +%s) - start))

after=$(torch_version)
if [[ "$after" != "$before" ]]; then
    echo "tl-interop: installing transformer-lens changed torch from $before to $after" >&2
    exit 1
fi
if "$python" -m pip list --format=freeze 2>/dev/null | grep -qi '^nvidia-'; then
    echo "tl-interop: installing transformer-lens brought CUDA packages" >&2
    exit 1
fi
# The test module skips when the import fails; here that would hide a broken install.
"$python" -c 'import transformer_lens' 2>/dev/null || {
    echo "tl-interop: transformer_lens does not import after the install" >&2
    "$python" -c 'import transformer_lens'
    exit 1
}

start=$(date +%s)
status=0
PYTHONPATH="src${PYTHONPATH:+:$PYTHONPATH}" "$python" -m pytest -q \
    tests/test_transformer_lens_interop.py || status=$?
test_seconds=$(($(date +%s) - start))

tl_version=$("$python" -c 'import importlib.metadata as m; print(m.version("transformer-lens"))')
echo "tl-interop: transformer-lens $tl_version with torch $after;" \
    "install ${install_seconds}s, tests ${test_seconds}s"
exit "$status"
