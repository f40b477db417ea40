#!/usr/bin/env bash
# The README's ml-100k results, over split seeds 0, 1 and 2 (Docs/protocol.md): the protocol table
# with every method (demo), the item warm-up tables for ratings and clicks (MetaEmb, MWUF, LWA,
# NLBA), the exploration replay and the onboarding study; then the seeds merged by `metarec report`.
# Usage: Scripts/results.sh [DATA] [OUT] [PARTS]
#   PARTS: a comma-separated choice of demo, notext (the demo without text features), warmup,
#   exploration and onboarding; all of them by default. Also: ranking (the demo with MAML's BPR and
#   sampled-softmax variants, for ratings and for clicks: Docs/ranking.md), not in the default.
set -euo pipefail
data=${1:-../shared/data/ml-100k}
out=${2:-results}
parts=${3:-demo,notext,warmup,exploration,onboarding}
mkdir -p "$out"
swift build -c release --product metarec >/dev/null
metarec=.build/release/metarec
has() { [[ ",$parts," == *",$1,"* ]]; }
for seed in 0 1 2; do
    if has demo; then
        "$metarec" demo --data "$data" --seed "$seed" --quiet --json "$out/seed$seed.json" >"$out/demo-seed$seed.md"
    fi
    if has ranking; then
        "$metarec" demo --data "$data" --seed "$seed" --ranking-objectives bpr,softmax --quiet \
            --json "$out/ranking-seed$seed.json" >"$out/ranking-seed$seed.md"
        "$metarec" demo --data "$data" --seed "$seed" --implicit-threshold 4 --ranking-objectives bpr,softmax \
            --quiet --json "$out/ranking-clicks-seed$seed.json" >"$out/ranking-clicks-seed$seed.md"
    fi
    if has notext; then
        "$metarec" demo --data "$data" --seed "$seed" --no-text-features --quiet \
            --json "$out/notext-seed$seed.json" >"$out/notext-seed$seed.md"
    fi
    if has warmup; then
        "$metarec" evaluate --data "$data" --seed "$seed" --item-warmup --no-table --quiet \
            --json "$out/warmup-ratings-seed$seed.json" >"$out/warmup-ratings-seed$seed.md"
        "$metarec" evaluate --data "$data" --seed "$seed" --implicit-threshold 4 --item-warmup --no-table --quiet \
            --json "$out/warmup-clicks-seed$seed.json" >"$out/warmup-clicks-seed$seed.md"
    fi
    if has exploration; then
        "$metarec" evaluate --data "$data" --seed "$seed" --exploration-replay --no-table --quiet \
            --json "$out/exploration-seed$seed.json" >"$out/exploration-seed$seed.md"
    fi
    if has onboarding; then
        "$metarec" onboarding --data "$data" --seed "$seed" --json "$out/onboarding-seed$seed.json" \
            >"$out/onboarding-seed$seed.md"
    fi
    echo "seed $seed done" >&2
done
if has demo; then
    "$metarec" report "$out"/seed0.json "$out"/seed1.json "$out"/seed2.json --markdown "$out/report.md" \
        --html "$out/report.html" >/dev/null
fi
if has ranking; then
    "$metarec" report "$out"/ranking-seed{0,1,2}.json --markdown "$out/ranking.md" >/dev/null
    "$metarec" report "$out"/ranking-clicks-seed{0,1,2}.json --markdown "$out/ranking-clicks.md" >/dev/null
fi
