import RealModule

/// A seeded, portable pseudo-random generator: the same seed gives the same stream on
/// every machine and every run.
///
/// The state is seeded with SplitMix64 and advanced with xoshiro256** (Blackman and Vigna,
/// "Scrambled linear pseudorandom number generators", 2021). Every draw MetaRec makes
/// (initial weights, shuffles, splits, synthetic data) goes through this type, never through
/// `SystemRandomNumberGenerator`, so results are reproducible from the seed alone.
///
/// ```swift
/// var random = SeededGenerator(seed: 0)
/// let weight = random.normal(mean: 0, standardDeviation: 0.1)
/// var order = Array(0..<10)
/// random.shuffle(&order)
/// ```
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: (UInt64, UInt64, UInt64, UInt64)

    /// Creates a generator whose whole stream is determined by `seed`.
    public init(seed: UInt64) {
        var mixer = seed
        func splitMix() -> UInt64 {
            mixer &+= 0x9E37_79B9_7F4A_7C15
            var z = mixer
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        state = (splitMix(), splitMix(), splitMix(), splitMix())
    }

    /// A generator for a named sub-stream, so that adding draws to one part of a program does
    /// not shift the numbers another part sees (for example `derived("split")`).
    public func derived(_ label: String) -> SeededGenerator {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325  // FNV-1a over the label, mixed with our state
        for byte in label.utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
        }
        return SeededGenerator(seed: hash ^ state.0 ^ (state.2 << 1))
    }

    public mutating func next() -> UInt64 {
        let result = rotateLeft(state.1 &* 5, 7) &* 9
        let t = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= t
        state.3 = rotateLeft(state.3, 45)
        return result
    }

    @inline(__always)
    private func rotateLeft(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    /// A uniform float in [0, 1), from the top 24 bits.
    public mutating func uniform() -> Float {
        Float(next() >> 40) * (1.0 / 16_777_216.0)
    }

    /// A uniform float in [low, high).
    public mutating func uniform(_ low: Float, _ high: Float) -> Float {
        low + (high - low) * uniform()
    }

    /// A uniform integer in `0..<upperBound` without modulo bias (Lemire's method).
    public mutating func integer(below upperBound: Int) -> Int {
        precondition(upperBound > 0, "integer(below:) needs a positive bound, got \(upperBound)")
        let bound = UInt64(upperBound)
        var product = next().multipliedFullWidth(by: bound)
        if product.low < bound {
            let threshold = (0 &- bound) % bound
            while product.low < threshold {
                product = next().multipliedFullWidth(by: bound)
            }
        }
        return Int(product.high)
    }

    /// A standard normal draw scaled to `mean` and `standardDeviation` (Box-Muller).
    public mutating func normal(mean: Float = 0, standardDeviation: Float = 1) -> Float {
        var u1 = Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
        if u1 < 1e-300 { u1 = 1e-300 }
        let u2 = Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
        let z = (-2 * Double.log(u1)).squareRoot() * Double.cos(2 * Double.pi * u2)
        return mean + standardDeviation * Float(z)
    }

    /// Shuffles in place with Fisher-Yates; unlike the standard library's `shuffle(using:)` the
    /// algorithm is fixed here, so a seed keeps its meaning across Swift versions.
    public mutating func shuffle<C: MutableCollection & RandomAccessCollection>(_ collection: inout C)
    where C.Index == Int {
        let start = collection.startIndex
        let count = collection.count
        guard count > 1 else { return }
        for i in stride(from: count - 1, to: 0, by: -1) {
            let j = integer(below: i + 1)
            collection.swapAt(start + i, start + j)
        }
    }

    /// `count` distinct indices from `0..<population`, in random order.
    public mutating func sample(_ count: Int, from population: Int) -> [Int] {
        precondition(count <= population, "cannot sample \(count) of \(population)")
        var pool = Array(0..<population)
        for i in 0..<count {
            let j = i + integer(below: population - i)
            pool.swapAt(i, j)
        }
        return Array(pool.prefix(count))
    }
}
