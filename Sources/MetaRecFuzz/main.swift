import Foundation
import MetaRecCore

// metarec-fuzz: a seeded mutation harness for the readers (issue 13, "Fuzzing").
//
//   metarec-fuzz TARGET [SECONDS] [SEED] [WORKDIR]
//   metarec-fuzz --replay TARGET FOLDER       # read one saved input folder (a crash fixture)
//
// Each execution mutates one file of the target's valid seed set, writes the set to
// WORKDIR/current (so a crash leaves its input behind for Scripts/fuzz.sh to keep), and reads it.
// A thrown error is a correct answer; a crash, a hang (caught by the script's timeout) or peak
// memory above the limit is a finding. Prints executions, errors and distinct error messages.

let arguments = Array(CommandLine.arguments.dropFirst())
func fail(_ message: String, code: Int32 = 2) -> Never {
    FileHandle.standardError.write(Data((message + "\n").utf8))
    exit(code)
}

if arguments.first == "--replay" {
    guard arguments.count == 3, let make = FuzzTargets.all[arguments[1]] else {
        fail(
            "usage: metarec-fuzz --replay TARGET FOLDER; targets: \(FuzzTargets.all.keys.sorted().joined(separator: ", "))"
        )
    }
    do {
        try make().read(URL(fileURLWithPath: arguments[2]))
        print("read without error")
    } catch { print("refused: \(error)") }
    exit(0)
}

guard let name = arguments.first, let make = FuzzTargets.all[name] else {
    fail(
        "usage: metarec-fuzz TARGET [SECONDS] [SEED] [WORKDIR]; targets: \(FuzzTargets.all.keys.sorted().joined(separator: ", "))"
    )
}
let seconds = arguments.count > 1 ? Double(arguments[1]) ?? 10 : 10
let seed = arguments.count > 2 ? UInt64(arguments[2]) ?? 0 : 0
let workdir = URL(
    fileURLWithPath: arguments.count > 3
        ? arguments[3] : FileManager.default.temporaryDirectory.appendingPathComponent("metarec-fuzz-\(name)").path)
let current = workdir.appendingPathComponent("current")
try? FileManager.default.removeItem(at: current)
try FileManager.default.createDirectory(at: current, withIntermediateDirectories: true)

/// Peak resident memory allowed: the seeds are a few hundred bytes and inputs at most 1 MiB.
let memoryLimit = 1 << 30
let target = make()
var mutator = Mutator(seed: seed)
var executions = 0
var refused = 0
var messages = Set<String>()
var slowest = 0.0
let start = Date()
// The first execution reads the unmutated seeds: they must load.
do {
    for (file, bytes) in target.seeds { try Data(bytes).write(to: current.appendingPathComponent(file)) }
    try target.read(current)
} catch {
    fail("\(name): the valid seed input was refused: \(error)")
}
var previous: String?
while Date().timeIntervalSince(start) < seconds {
    // Only the file mutated last time and the one mutated now differ from the seeds on disk.
    if let previous { try Data(target.seeds[previous]!).write(to: current.appendingPathComponent(previous)) }
    let chosen = target.mutated[mutator.int(target.mutated.count)]
    try Data(mutator.mutate(target.seeds[chosen]!)).write(to: current.appendingPathComponent(chosen))
    previous = chosen
    let began = Date()
    do { try target.read(current) } catch {
        refused += 1
        // Messages without numbers, to count kinds of refusal rather than values.
        let kind = String(describing: error).filter { !$0.isNumber }.prefix(80)
        if messages.count < 10_000 { messages.insert(String(kind)) }
    }
    slowest = max(slowest, Date().timeIntervalSince(began))
    executions += 1
    if executions % 256 == 0, let peak = ResourceUsage.peakResidentBytes(), peak > memoryLimit {
        fail(
            "\(name): peak memory \(peak / 1_048_576) MiB above \(memoryLimit / 1_048_576) MiB; input in \(current.path)",
            code: 3)
    }
}
try? FileManager.default.removeItem(at: current)
let peak = (ResourceUsage.peakResidentBytes() ?? 0) / 1_048_576
print(
    "\(name): \(executions) executions in \(Int(Date().timeIntervalSince(start))) s, \(refused) refused with an error (\(messages.count) kinds), \(executions - refused) read, slowest \(String(format: "%.3f", slowest)) s, peak memory \(peak) MiB, no crash"
)
