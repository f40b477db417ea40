// metarec-benchmark: release-mode benchmarks that print their figures.
//
//     swift run -c release metarec-benchmark [group ...]
//
// Groups: core (kernels, MLP, MAML meta-step), models (MeLU meta-learning throughput, adapt-and-rank
// latency), data (reading and splitting), neural-process (TaNP adapt-and-score latency), store (feedback
// appends on SQLite and, with METAREC_BENCH_POSTGRES_URL, PostgreSQL), serving (ranking from a stored
// state per state kind at 10k/100k/1M items, adapt + rank), scale (1M to 25M ratings: read and split,
// a meta-training epoch, ranking against catalogue size; ScaleBenchmarks.swift for its options).
// No group: all.
import Foundation

let arguments = Array(CommandLine.arguments.dropFirst())
if runScaleChildIfAsked(arguments) { exit(0) }
let scaleOptions = ScaleOptions(arguments)
let requested = Set(scaleOptions.groups)
func wants(_ group: String) -> Bool { requested.isEmpty || requested.contains(group) }

if wants("core") { runCoreBenchmarks() }
if wants("models") { runModelBenchmarks() }
if wants("data") { runDataBenchmarks() }
if wants("neural-process") { runNeuralProcessBenchmarks() }
if wants("store") { await runStoreBenchmarks() }
if wants("serving") { runServingBenchmarks() }
if wants("scale") { runScaleBenchmarks(scaleOptions) }
