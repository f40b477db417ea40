/// One tensor's data as stored in a checkpoint: row-major Float32 values with a shape.
///
/// It is a plain value, independent of the autodiff tensor type, so that the file format does
/// not change when the training code does. A shape of `[]` is a scalar (one value); a shape
/// with a 0 dimension holds no values.
public struct StoredTensor: Equatable, Sendable {
    public var shape: [Int]
    public var values: [Float]

    /// Precondition: every dimension is non-negative and `values.count` is their product.
    public init(shape: [Int], values: [Float]) {
        let count = StoredTensor.elementCount(of: shape)
        precondition(count != nil, "invalid tensor shape \(shape): negative or overflowing dimensions")
        precondition(
            count == values.count, "tensor shape \(shape) needs \(count ?? 0) values, got \(values.count)")
        self.shape = shape
        self.values = values
    }

    /// The number of elements of `shape`, or nil when a dimension is negative or the product
    /// overflows: the reader calls this on untrusted input, so it must not trap.
    static func elementCount(of shape: [Int]) -> Int? {
        var count = 1
        for dimension in shape {
            guard dimension >= 0 else { return nil }
            let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
            guard !overflow else { return nil }
            count = product
        }
        return count
    }
}
