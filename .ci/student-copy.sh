#!/usr/bin/env bash
# A student's copy of the repository has no solutions/: the exercises must still build and
# grade. Hides solutions/ in this checkout (same paths, so the build reuses target/), builds the
# exercises program, grades a starter, and puts everything back whatever happens.
set -euo pipefail
cd "$(dirname "$0")/.."

hidden=$(mktemp -d)
cp Cargo.lock "$hidden/Cargo.lock"
mv solutions "$hidden/solutions"
restore() {
    mv "$hidden/solutions" solutions
    cp "$hidden/Cargo.lock" Cargo.lock
    rmdir "$hidden" 2>/dev/null || true
}
trap restore EXIT

cargo build --release -p clustersim-exercises --bin clustersim-exercises
set +e
out=$("${CARGO_TARGET_DIR:-target}"/release/clustersim-exercises check-exercise durable-counter --seeds 2 2>&1)
code=$?
set -e
echo "$out"
# The starter loses increments: the grade must run and fail (1), not refuse to run (2).
if [ "$code" -ne 1 ] || ! grep -q "FAIL CounterNeverGoesBack" <<<"$out"; then
    echo "the exercises do not grade without solutions/ (exit $code)" >&2
    exit 1
fi
echo "student copy: builds and grades without solutions/"
