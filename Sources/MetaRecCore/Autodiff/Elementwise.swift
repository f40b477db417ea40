import RealModule

/// How one operand of a broadcast element-wise operation maps onto the result.
@usableFromInline
enum BroadcastOperand: Equatable {
    case full, scalar
    case row(Int)

    init(shape: [Int], resultShape: [Int]) {
        if shape == resultShape {
            self = .full
        } else if shape.reduce(1, *) == 1 {
            self = .scalar
        } else {
            self = .row(shape.reduce(1, *))
        }
    }
}

@inline(__always)
func broadcastValues(
    _ a: [Float], _ kindA: BroadcastOperand, _ b: [Float], _ kindB: BroadcastOperand, count: Int,
    _ f: (Float, Float) -> Float
) -> [Float] {
    [Float](unsafeUninitializedCapacity: count) { out, initialized in
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                switch (kindA, kindB) {
                case (.full, .full):
                    for i in 0..<count { out[i] = f(pa[i], pb[i]) }
                case (.full, .scalar):
                    let s = pb[0]
                    for i in 0..<count { out[i] = f(pa[i], s) }
                case (.scalar, .full):
                    let s = pa[0]
                    for i in 0..<count { out[i] = f(s, pb[i]) }
                case (.full, .row(let n)):
                    var base = 0
                    while base < count {
                        for j in 0..<n { out[base + j] = f(pa[base + j], pb[j]) }
                        base += n
                    }
                case (.row(let n), .full):
                    var base = 0
                    while base < count {
                        for j in 0..<n { out[base + j] = f(pa[j], pb[base + j]) }
                        base += n
                    }
                default:
                    func index(_ kind: BroadcastOperand, _ i: Int) -> Int {
                        switch kind {
                        case .full: return i
                        case .scalar: return 0
                        case .row(let n): return i % n
                        }
                    }
                    for i in 0..<count { out[i] = f(pa[index(kindA, i)], pb[index(kindB, i)]) }
                }
            }
        }
        initialized = count
    }
}

@inline(__always)
func mapValues(_ x: [Float], _ f: (Float) -> Float) -> [Float] {
    [Float](unsafeUninitializedCapacity: x.count) { out, initialized in
        x.withUnsafeBufferPointer { px in
            for i in 0..<px.count { out[i] = f(px[i]) }
        }
        initialized = x.count
    }
}

/// An element-wise binary operation with row and scalar broadcasting.
@inline(__always)
func binary(
    _ name: String, _ a: Tensor, _ b: Tensor, _ f: (Float, Float) -> Float,
    backward: @escaping (_ a: Tensor, _ b: Tensor, _ gradient: Tensor, _ needed: [Bool]) -> [Tensor?]
) -> Tensor {
    let shape = ShapeCheck.broadcast(name, a.shape, b.shape).orStop
    let values = broadcastValues(
        a.denseValues, BroadcastOperand(shape: a.shape, resultShape: shape),
        b.denseValues, BroadcastOperand(shape: b.shape, resultShape: shape),
        count: shape.reduce(1, *), f)
    return record(name, [a, b], shape: shape, values: values) { gradient, needed in
        backward(a, b, gradient, needed)
    }
}

// MARK: - Arithmetic

/// Element-wise sum; a scalar or a row broadcasts.
public func + (a: Tensor, b: Tensor) -> Tensor {
    binary("add", a, b, +) { a, b, g, needed in
        [needed[0] ? g.summed(toShape: a.shape) : nil, needed[1] ? g.summed(toShape: b.shape) : nil]
    }
}

/// Element-wise difference; a scalar or a row broadcasts.
public func - (a: Tensor, b: Tensor) -> Tensor {
    binary("subtract", a, b, -) { a, b, g, needed in
        [needed[0] ? g.summed(toShape: a.shape) : nil, needed[1] ? (-g).summed(toShape: b.shape) : nil]
    }
}

/// Element-wise product; a scalar or a row broadcasts.
public func * (a: Tensor, b: Tensor) -> Tensor {
    binary("multiply", a, b, *) { a, b, g, needed in
        [needed[0] ? (g * b).summed(toShape: a.shape) : nil, needed[1] ? (g * a).summed(toShape: b.shape) : nil]
    }
}

/// Element-wise quotient; a scalar or a row broadcasts.
public func / (a: Tensor, b: Tensor) -> Tensor {
    binary("divide", a, b, /) { a, b, g, needed in
        [
            needed[0] ? (g / b).summed(toShape: a.shape) : nil,
            needed[1] ? (-(g * a) / (b * b)).summed(toShape: b.shape) : nil,
        ]
    }
}

public prefix func - (x: Tensor) -> Tensor {
    record("negate", [x], shape: x.shape, values: mapValues(x.denseValues) { -$0 }) { g, _ in [-g] }
}

public func + (x: Tensor, s: Float) -> Tensor {
    record("addScalar", [x], shape: x.shape, values: mapValues(x.denseValues) { $0 + s }) { g, _ in [g] }
}

public func + (s: Float, x: Tensor) -> Tensor { x + s }

public func - (x: Tensor, s: Float) -> Tensor { x + (-s) }

public func - (s: Float, x: Tensor) -> Tensor {
    record("scalarSubtract", [x], shape: x.shape, values: mapValues(x.denseValues) { s - $0 }) { g, _ in [-g] }
}

public func * (x: Tensor, s: Float) -> Tensor {
    record("multiplyScalar", [x], shape: x.shape, values: mapValues(x.denseValues) { $0 * s }) { g, _ in [g * s] }
}

public func * (s: Float, x: Tensor) -> Tensor { x * s }

public func / (x: Tensor, s: Float) -> Tensor { x * (1 / s) }

// MARK: - Activations and element-wise functions

/// max(x, 0). Its second derivative is zero almost everywhere, so the backward rule multiplies
/// by a constant mask.
public func relu(_ x: Tensor) -> Tensor {
    record("relu", [x], shape: x.shape, values: mapValues(x.denseValues) { max($0, 0) }) { g, _ in
        [g * Tensor(shape: x.shape, values: mapValues(x.denseValues) { $0 > 0 ? 1 : 0 })]
    }
}

/// The logistic function 1 / (1 + e^-x).
public func sigmoid(_ x: Tensor) -> Tensor {
    recordUsingOutput("sigmoid", [x], shape: x.shape, values: mapValues(x.denseValues, logistic)) { s, g, _ in
        [g * (s - s * s)]
    }
}

public func tanh(_ x: Tensor) -> Tensor {
    recordUsingOutput("tanh", [x], shape: x.shape, values: mapValues(x.denseValues) { Float.tanh($0) }) { t, g, _ in
        [g * (1 - t * t)]
    }
}

public func exp(_ x: Tensor) -> Tensor {
    recordUsingOutput("exp", [x], shape: x.shape, values: mapValues(x.denseValues) { Float.exp($0) }) { e, g, _ in
        [g * e]
    }
}

/// Natural logarithm.
public func log(_ x: Tensor) -> Tensor {
    record("log", [x], shape: x.shape, values: mapValues(x.denseValues) { Float.log($0) }) { g, _ in [g / x] }
}

/// log(1 + e^x), computed without overflow.
public func softplus(_ x: Tensor) -> Tensor {
    record("softplus", [x], shape: x.shape, values: mapValues(x.denseValues, softplusValue)) { g, _ in
        [g * sigmoid(x)]
    }
}

@inline(__always)
func logistic(_ x: Float) -> Float {
    x >= 0 ? 1 / (1 + Float.exp(-x)) : Float.exp(x) / (1 + Float.exp(x))
}

@inline(__always)
func softplusValue(_ x: Float) -> Float {
    max(x, 0) + Float.log(onePlus: Float.exp(-abs(x)))
}
