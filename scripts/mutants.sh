#!/usr/bin/env bash
# Mutation testing of the store, the merge rule and flooding (README,
# "Mutation score"). Needs cargo-mutants (`cargo install cargo-mutants`).
#
# cargo-mutants runs the tests of the mutated package only (`--package herd`),
# but most of what exercises flooding lives in herd-sim's tests, so the test
# runs go through a `cargo` that widens them to both packages.
set -euo pipefail
cd "$(dirname "$0")/.."

real_cargo=$(rustup which cargo 2>/dev/null || command -v cargo)
wrapper=$(mktemp -d)/cargo
trap 'rm -rf "$(dirname "$wrapper")"' EXIT
cat > "$wrapper" <<WRAP
#!/usr/bin/env bash
args=()
for a in "\$@"; do
  case "\$1:\$a" in
    test:--package=herd@*) args+=(--package=herd --package=herd-sim) ;;
    *) args+=("\$a") ;;
  esac
done
exec "$real_cargo" "\${args[@]}"
WRAP
chmod +x "$wrapper"

CARGO="$wrapper" cargo-mutants mutants \
  -f src/store.rs -f src/store/record.rs -f src/server/flood.rs -f src/protocol/update.rs \
  -o "${MUTANTS_OUT:-target/mutants}" "$@" -- \
  --lib --test store_props --test scenarios --test prop_converges \
  --test read_your_writes --test bug_catalogue
