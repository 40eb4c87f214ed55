#!/usr/bin/env bash
# Builds the book (book/) with mdbook, installing mdbook first when it is absent.
# The book's content is checked by `cargo test --test book`; this script checks that it renders.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v mdbook >/dev/null 2>&1 && [ ! -x "$HOME/.cargo/bin/mdbook" ]; then
    echo "== installing mdbook (cargo install mdbook --locked)"
    cargo install mdbook --locked
fi
MDBOOK="$(command -v mdbook || echo "$HOME/.cargo/bin/mdbook")"

echo "== mdbook build book"
"$MDBOOK" build book
