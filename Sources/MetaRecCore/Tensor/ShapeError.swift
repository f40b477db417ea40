/// A shape mismatch, named by the operation and the shapes involved.
///
/// Operations treat a mismatch as a programming error and stop with this message, which is
/// built here so that it can be tested and reused by code that validates before it calls.
public struct ShapeError: Error, CustomStringConvertible, Equatable {
    public let operation: String
    public let shapes: [[Int]]
    public let expectation: String

    public var description: String {
        let shown = shapes.map { "\($0)" }.joined(separator: " and ")
        return "\(operation): incompatible shapes \(shown): \(expectation)"
    }
}

enum ShapeCheck {
    /// Result shape of an element-wise binary operation, or the error. Allowed: equal shapes,
    /// a scalar (one element) on either side, or a row (`[n]` or `[1, n]`) against a tensor
    /// whose last dimension is n.
    static func broadcast(_ operation: String, _ a: [Int], _ b: [Int]) -> Result<[Int], ShapeError> {
        if a == b { return .success(a) }
        let countA = a.reduce(1, *)
        let countB = b.reduce(1, *)
        if countB == 1, b.count <= a.count { return .success(a) }
        if countA == 1, a.count <= b.count { return .success(b) }
        if isRow(b), let last = a.last, last == countB, a.count >= b.count { return .success(a) }
        if isRow(a), let last = b.last, last == countA, b.count >= a.count { return .success(b) }
        return .failure(
            ShapeError(
                operation: operation, shapes: [a, b],
                expectation: "expected equal shapes, a scalar, or a row [n] / [1, n] matching the last dimension"))
    }

    static func isRow(_ shape: [Int]) -> Bool {
        shape.count == 1 || (shape.count == 2 && shape[0] == 1)
    }

    static func matmul(_ a: [Int], _ b: [Int], transposeA: Bool, transposeB: Bool) -> Result<
        (m: Int, k: Int, n: Int), ShapeError
    > {
        let name = "matmul" + (transposeA ? "(Aᵀ" : "(A") + (transposeB ? "·Bᵀ)" : "·B)")
        guard a.count == 2, b.count == 2 else {
            return .failure(ShapeError(operation: name, shapes: [a, b], expectation: "expected two matrices"))
        }
        let (m, k) = transposeA ? (a[1], a[0]) : (a[0], a[1])
        let (k2, n) = transposeB ? (b[1], b[0]) : (b[0], b[1])
        guard k == k2 else {
            return .failure(
                ShapeError(operation: name, shapes: [a, b], expectation: "inner dimensions \(k) and \(k2) differ"))
        }
        return .success((m, k, n))
    }
}

extension Result where Failure == ShapeError {
    /// The value, or a stop with the error's message.
    var orStop: Success {
        switch self {
        case .success(let value): return value
        case .failure(let error): preconditionFailure(error.description)
        }
    }
}
