/// The covariance head's questions at serving speed: ``VarianceReductionChooser``'s greedy
/// choice (the expected reduction of predictive variance over the catalogue, MacKay, Neural
/// Computation 1992, times the chance the user knows the item) over the catalogue's cached Φ
/// and moment Σ φφᵀ, with each pick's rank-one covariance update carried into every candidate's
/// a = Sφ, aᵀMa and σ² + φᵀa in O(k) instead of recomputing them in O(k²).
enum CovarianceQuestions {
    /// The mean of φφᵀ over the rows not in `hidden` (row-major k × k), as the chooser keeps it.
    static func moment(_ phi: [Double], k: Int, skipping hidden: RowSet) -> [Double] {
        var moment = [Double](repeating: 0, count: k * k)
        let rows = k == 0 ? 0 : phi.count / k
        var visible = 0
        phi.withUnsafeBufferPointer { phi in
            moment.withUnsafeMutableBufferPointer { out in
                for row in 0..<rows where !hidden.contains(row) {
                    visible += 1
                    let x = phi.baseAddress! + row * k
                    for i in 0..<k { for j in 0..<k { out[i * k + j] += x[i] * x[j] } }
                }
            }
        }
        return moment.map { $0 / Double(max(visible, 1)) }
    }

    /// Up to `count` rows of `pool` (in pool order on ties), best first, each with its expected
    /// reduction under `covariance` (before any of the picks), as the chooser reports it.
    static func choose(
        count: Int, pool: [Int32], phi: [Double], k: Int, covariance: [Double], moment: [Double],
        noiseVariance: Double, known: (Int32) -> Double
    ) -> [(row: Int32, reduction: Double)] {
        let n = pool.count
        guard count > 0, n > 0, k > 0, covariance.count == k * k, moment.count == k * k else { return [] }
        var a = [Double](repeating: 0, count: n * k)
        var numerator = [Double](repeating: 0, count: n)
        var denominator = [Double](repeating: 0, count: n)
        let knownShare = pool.map(known)
        phi.withUnsafeBufferPointer { phi in
            covariance.withUnsafeBufferPointer { s in
                moment.withUnsafeBufferPointer { m in
                    a.withUnsafeMutableBufferPointer { a in
                        for index in 0..<n {
                            let x = phi.baseAddress! + Int(pool[index]) * k
                            let ai = a.baseAddress! + index * k
                            for i in 0..<k { for j in 0..<k { ai[i] += s[i * k + j] * x[j] } }
                            var dot = 0.0
                            for j in 0..<k { dot += x[j] * ai[j] }
                            var quadratic = 0.0
                            for i in 0..<k { for j in 0..<k { quadratic += ai[i] * m[i * k + j] * ai[j] } }
                            numerator[index] = quadratic
                            denominator[index] = noiseVariance + dot
                        }
                    }
                }
            }
        }
        let initial = (0..<n).map { numerator[$0] / denominator[$0] * knownShare[$0] }
        var remaining = [Bool](repeating: true, count: n)
        var chosen: [(row: Int32, reduction: Double)] = []
        var direction = [Double](repeating: 0, count: k)
        var momentDirection = [Double](repeating: 0, count: k)
        while chosen.count < min(count, n) {
            var best = -1
            var bestScore = 0.0
            for index in 0..<n where remaining[index] {
                let score = numerator[index] / denominator[index] * knownShare[index]
                if best < 0 || score > bestScore {
                    best = index
                    bestScore = score
                }
            }
            remaining[best] = false
            chosen.append((pool[best], initial[best]))
            guard chosen.count < min(count, n) else { break }
            // S' = S − ddᵀ/δ with d = a_best, δ = its denominator: for every candidate, with
            // c = dᵀx/δ, a' = a − cd, σ² + xᵀa' = σ² + xᵀa − c·dᵀx, a'ᵀMa' = aᵀMa − 2c(Md)ᵀa + c²dᵀMd.
            let delta = denominator[best]
            for j in 0..<k { direction[j] = a[best * k + j] }
            for i in 0..<k {
                var total = 0.0
                for j in 0..<k { total += moment[i * k + j] * direction[j] }
                momentDirection[i] = total
            }
            let curvature = zip(direction, momentDirection).reduce(0.0) { $0 + $1.0 * $1.1 }
            phi.withUnsafeBufferPointer { phi in
                a.withUnsafeMutableBufferPointer { a in
                    for index in 0..<n where remaining[index] {
                        let x = phi.baseAddress! + Int(pool[index]) * k
                        let ai = a.baseAddress! + index * k
                        var along = 0.0
                        var cross = 0.0
                        for j in 0..<k {
                            along += direction[j] * x[j]
                            cross += momentDirection[j] * ai[j]
                        }
                        let c = along / delta
                        numerator[index] += c * (c * curvature - 2 * cross)
                        denominator[index] -= c * along
                        for j in 0..<k { ai[j] -= c * direction[j] }
                    }
                }
            }
        }
        return chosen
    }
}
