import Foundation
import MetaRecCore

/// The numeric core's figures: kernels, a MeLU-sized MLP step, and one MAML meta-step of
/// 32 tasks × 5 inner steps × 20 support (+ 10 query) rows in exact second order and first order.
func runCoreBenchmarks() {
    runKernelBenchmarks()
    print("")
    print("== autodiff (backend \(Kernels.backend.rawValue); set METAREC_KERNELS=portable for the fallback)")
    printKernelHeader()
    var random = SeededGenerator(seed: 0)
    let parameters = [
        Tensor.normal([256, 64], standardDeviation: 0.08, using: &random, requiresGradient: true),
        Tensor.zeros([64]).asParameter(),
        Tensor.normal([64, 64], standardDeviation: 0.15, using: &random, requiresGradient: true),
        Tensor.zeros([64]).asParameter(),
        Tensor.normal([64, 1], standardDeviation: 0.15, using: &random, requiresGradient: true),
        Tensor.zeros([1]).asParameter(),
    ]
    func network(_ x: Tensor, _ p: [Tensor]) -> Tensor {
        let h1 = relu(linear(x, weight: p[0], bias: p[1]))
        let h2 = relu(linear(h1, weight: p[2], bias: p[3]))
        return linear(h2, weight: p[4], bias: p[5])
    }
    let x = Tensor.normal([32, 256], standardDeviation: 1, using: &random)
    let y = Tensor.normal([32, 1], standardDeviation: 1, using: &random)
    let step = medianSecondsPerCall {
        _ = gradients(of: meanSquaredError(network(x, parameters), y), withRespectTo: parameters)
    }
    print("MLP 256 -> 64 -> 64 -> 1, batch 32, forward + backward: \(format(step * 1e6)) us")

    struct Task { let supportX, supportY, queryX, queryY: Tensor }
    let tasks = (0..<32).map { _ in
        Task(
            supportX: Tensor.normal([20, 256], standardDeviation: 1, using: &random),
            supportY: Tensor.normal([20, 1], standardDeviation: 1, using: &random),
            queryX: Tensor.normal([10, 256], standardDeviation: 1, using: &random),
            queryY: Tensor.normal([10, 1], standardDeviation: 1, using: &random))
    }
    func metaStep(secondOrder: Bool, threads: Int) {
        _ = Parallel.map(Array(0..<threads), workers: threads) { worker -> Int in
            for index in stride(from: worker, to: tasks.count, by: threads) {
                let task = tasks[index]
                var fast = parameters
                for _ in 0..<5 {
                    let loss = meanSquaredError(network(task.supportX, fast), task.supportY)
                    let g = gradients(of: loss, withRespectTo: fast, createGraph: secondOrder)
                    fast = zip(fast, g).map { $0 - $1 * 0.01 }
                }
                let query = meanSquaredError(network(task.queryX, fast), task.queryY)
                _ = gradients(of: query, withRespectTo: parameters)
            }
            return 0
        }
    }
    for threads in [1, 2] {
        let second = medianSecondsPerCall(batches: 5, batchSeconds: 0.5) {
            metaStep(secondOrder: true, threads: threads)
        }
        let first = medianSecondsPerCall(batches: 5, batchSeconds: 0.5) {
            metaStep(secondOrder: false, threads: threads)
        }
        print(
            "MAML meta-step, 32 tasks x 5 inner steps x 20 support + 10 query, \(threads) thread(s): "
                + "second order \(format(second * 1e3, 2)) ms (\(format(32 / second, 0)) tasks/s), "
                + "first order \(format(first * 1e3, 2)) ms (\(format(32 / first, 0)) tasks/s), ratio \(format(second / first, 2))"
        )
    }
}
