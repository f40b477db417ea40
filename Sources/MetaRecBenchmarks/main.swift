// metarec-benchmark: release-mode benchmarks that print their figures.
//
//     swift run -c release metarec-benchmark [group ...]
//
// Groups: core (kernels, MLP, MAML meta-step), models (MeLU meta-learning throughput, adapt-and-rank
// latency), data (reading and splitting), neural-process (TaNP adapt-and-score latency), store (feedback
// appends on SQLite and, with METAREC_BENCH_POSTGRES_URL, PostgreSQL), serving (ranking from a stored
// state per state kind at 10k/100k/1M items, adapt + rank). No group: all.
import Foundation

let requested = Set(CommandLine.arguments.dropFirst())
func wants(_ group: String) -> Bool { requested.isEmpty || requested.contains(group) }

if wants("core") { runCoreBenchmarks() }
if wants("models") { runModelBenchmarks() }
if wants("data") { runDataBenchmarks() }
if wants("neural-process") { runNeuralProcessBenchmarks() }
if wants("store") { await runStoreBenchmarks() }
if wants("serving") { runServingBenchmarks() }
