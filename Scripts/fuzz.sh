#!/usr/bin/env bash
# Fuzzes every reader (MovieLens 100K and latest, generic CSV/TSV with schema, YAML/JSON schema,
# safetensors checkpoint) for a bounded time each, with the seeded mutation harness metarec-fuzz.
#
#   Scripts/fuzz.sh [SECONDS_PER_TARGET]        (default 60; FUZZ_SEED=n to repeat a run)
#
# Fails on a crash, a hang (no exit within the time plus 60 s) or memory beyond the limits
# (1 GiB peak resident checked by the harness, 4 GiB address space by ulimit). A failing
# input is copied to fuzz-findings/TARGET-SEED/ ; replay it with
#   .build/release/metarec-fuzz --replay TARGET fuzz-findings/TARGET-SEED
# and add it as a regression test fixture.
set -uo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
seed="${FUZZ_SEED:-$(date +%s)}"
swift build -c release --product metarec-fuzz >/dev/null || { echo "fuzz: build failed"; exit 1; }
binary="$(swift build -c release --show-bin-path)/metarec-fuzz"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# Without this, Swift's crash backtracer can hang for minutes after a crash
# (see the notes on fuzzing in ../shared/notes/services-on-this-machine.md).
export SWIFT_BACKTRACE=enable=no
status=0
echo "== fuzzing each reader for ${seconds} s (seed ${seed})"
for target in movielens-100k movielens-latest generic schema checkpoint; do
    (ulimit -v 4194304; timeout --signal=KILL $((seconds + 60)) "$binary" "$target" "$seconds" "$seed" "$work/$target")
    code=$?
    if [ "$code" -ne 0 ]; then
        status=1
        case "$code" in
            137) reason="hang (killed after $((seconds + 60)) s)" ;;
            3) reason="memory above the limit" ;;
            *) reason="crash (exit $code)" ;;
        esac
        kept="fuzz-findings/$target-$seed"
        mkdir -p "$kept" && cp -R "$work/$target/current/." "$kept/" 2>/dev/null
        echo "FAIL $target: $reason; input kept in $kept"
    fi
done
exit "$status"
