import Foundation

/// Renumbers provisional ids, removes duplicate (user, item) rows keeping the latest (largest
/// timestamp; on a tie the later row), and orders by user, time, item: the invariants of `Dataset`.
/// `raw` is in file order.
func canonicalize(_ raw: [Interaction], userRemap: [Int32], itemRemap: [Int32], userCount: Int) -> (
    interactions: [Interaction], duplicates: Int
) {
    // Counting sort by final user; stable, so file order survives within a user.
    var starts = [Int](repeating: 0, count: userCount + 1)
    for x in raw { starts[Int(userRemap[Int(x.user)]) + 1] += 1 }
    for u in 0..<userCount { starts[u + 1] += starts[u] }
    var cursor = starts
    var grouped = [Interaction](unsafeUninitializedCapacity: raw.count) { buffer, initialized in
        for x in raw {
            let u = Int(userRemap[Int(x.user)])
            buffer[cursor[u]] = Interaction(
                user: Int32(u), item: itemRemap[Int(x.item)], value: x.value, timestamp: x.timestamp)
            cursor[u] += 1
        }
        initialized = raw.count
    }
    var duplicates = 0
    var write = 0
    var order: [Int32] = []
    var seen: [Int32: Int] = [:]
    grouped.withUnsafeMutableBufferPointer { g in
        for u in 0..<userCount {
            let a = starts[u]
            let b = starts[u + 1]
            if a == b { continue }
            // Deduplicate: later row wins unless its timestamp is older.
            seen.removeAll(keepingCapacity: true)
            order.removeAll(keepingCapacity: true)
            for k in a..<b {
                if let previous = seen[g[k].item] {
                    duplicates += 1
                    if g[k].timestamp >= g[Int(order[previous])].timestamp { order[previous] = Int32(k) }
                } else {
                    seen[g[k].item] = order.count
                    order.append(Int32(k))
                }
            }
            var block = order.map { g[Int($0)] }
            block.sort { $0.timestamp != $1.timestamp ? $0.timestamp < $1.timestamp : $0.item < $1.item }
            for x in block {
                g[write] = x
                write += 1
            }
        }
    }
    grouped.removeLast(grouped.count - write)
    return (grouped, duplicates)
}
