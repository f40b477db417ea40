import Foundation

/// Item vectors from outside (sentence or image embeddings) joined to a data set by item id,
/// as a `dense` item feature: either a text file of lines "id number number …" or a NumPy `.npy`
/// matrix (one row per item, float32 or float64, C order) with a text file of ids, one per line,
/// in the rows' order, which is how embedding models are usually saved.
public enum ItemVectors {
    /// Reads a text vector file: per line an item id then its numbers (blanks or commas between).
    public static func readText(_ url: URL) throws -> (ids: [String], rows: [[Float]]) {
        let name = url.lastPathComponent
        let text = try readString(url)
        var ids: [String] = []
        var rows: [[Float]] = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let parts = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "," || $0 == "\r" })
            if parts.isEmpty { continue }
            guard parts.count >= 2 else {
                throw DataError(
                    file: name, line: index + 1, "expected an item id followed by numbers, found '\(line.prefix(40))'")
            }
            var row: [Float] = []
            for part in parts.dropFirst() {
                guard let value = Float(part), value.isFinite else {
                    throw DataError(file: name, line: index + 1, "expected a number, found '\(part)'")
                }
                row.append(value)
            }
            if let first = rows.first, first.count != row.count {
                throw DataError(
                    file: name, line: index + 1,
                    "expected \(first.count) numbers after the id (as on the first line), found \(row.count)")
            }
            ids.append(String(parts[0]))
            rows.append(row)
        }
        guard !rows.isEmpty else {
            throw DataError(file: name, "no vectors found; expected lines 'id number number ...'")
        }
        return (ids, rows)
    }

    /// Reads a 2-D `.npy` matrix and its id list (one id per line, as many as the matrix has rows).
    public static func readNumpy(_ url: URL, ids idsURL: URL) throws -> (ids: [String], rows: [[Float]]) {
        let matrix = try NumpyMatrix.read(url)
        let ids = try readString(idsURL).split(whereSeparator: \.isNewline).map {
            $0.trimmingCharacters(in: .whitespaces)
        }.filter { !$0.isEmpty }
        guard ids.count == matrix.rows else {
            throw DataError(
                file: idsURL.lastPathComponent,
                "has \(ids.count) ids; expected one per row of \(url.lastPathComponent) (\(matrix.rows))")
        }
        return (
            ids, (0..<matrix.rows).map { Array(matrix.values[($0 * matrix.columns)..<(($0 + 1) * matrix.columns)]) }
        )
    }

    /// The column named `name` for `dataset`'s items: ids the data set does not know are ignored,
    /// items without a vector get zeros (`present` false).
    public static func column(name: String, ids: [String], rows: [[Float]], itemIDs: [String]) -> RawFeatureColumn {
        let dimension = rows.first?.count ?? 0
        var index: [String: Int] = [:]
        for (i, id) in itemIDs.enumerated() { index[id] = i }
        var values = [Float](repeating: 0, count: itemIDs.count * dimension)
        var present = [Bool](repeating: false, count: itemIDs.count)
        for (id, row) in zip(ids, rows) {
            guard let item = index[id] else { continue }
            values.replaceSubrange((item * dimension)..<((item + 1) * dimension), with: row)
            present[item] = true
        }
        return RawFeatureColumn(
            name: name, spec: FeatureSpec(kind: .dense),
            values: .vectors(dimension: dimension, values: values, present: present))
    }

    static func readString(_ url: URL) throws -> String {
        do { return String(decoding: try Data(contentsOf: url), as: UTF8.self) } catch {
            throw DataError(file: url.lastPathComponent, "cannot read: \(error.localizedDescription)")
        }
    }
}

extension Dataset {
    /// The data set with item vectors (see ``ItemVectors``) added as the dense item feature `name`.
    public func addingItemVectors(name: String, ids: [String], rows: [[Float]]) -> Dataset {
        var copy = self
        copy.rawItemFeatures.columns.removeAll { $0.name == name }
        copy.rawItemFeatures.columns.append(ItemVectors.column(name: name, ids: ids, rows: rows, itemIDs: itemIDs))
        return copy
    }
}

/// A 2-D float matrix in NumPy's `.npy` format (versions 1–3, little-endian float32 or float64, C order).
public struct NumpyMatrix: Sendable, Equatable {
    public var rows: Int
    public var columns: Int
    public var values: [Float]

    public static func read(_ url: URL) throws -> NumpyMatrix {
        let bytes: [UInt8]
        do { bytes = Array(try Data(contentsOf: url)) } catch {
            throw DataError(file: url.lastPathComponent, "cannot read: \(error.localizedDescription)")
        }
        return try parse(bytes, file: url.lastPathComponent)
    }

    public static func parse(_ bytes: [UInt8], file: String) throws -> NumpyMatrix {
        func fail(_ message: String) -> DataError { DataError(file: file, message) }
        guard bytes.count >= 10, bytes[0] == 0x93, Array(bytes[1...5]) == Array("NUMPY".utf8) else {
            throw fail("not a .npy file (expected the magic bytes \\x93NUMPY)")
        }
        let major = bytes[6]
        let headerLength: Int
        let start: Int
        switch major {
        case 1:
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            start = 10
        case 2, 3:
            guard bytes.count >= 12 else { throw fail("truncated .npy header") }
            headerLength = (0..<4).reduce(0) { $0 | Int(bytes[8 + $1]) << (8 * $1) }
            start = 12
        default: throw fail(".npy version \(major) is not supported; expected 1, 2 or 3")
        }
        guard bytes.count >= start + headerLength else { throw fail("truncated .npy header") }
        let header = String(decoding: bytes[start..<(start + headerLength)], as: UTF8.self)
        let width: Int
        if header.contains("'descr': '<f4'") {
            width = 4
        } else if header.contains("'descr': '<f8'") {
            width = 8
        } else {
            throw fail(
                "expected little-endian float32 or float64 ('<f4' or '<f8') in the .npy header, found \(header.trimmingCharacters(in: .whitespacesAndNewlines))"
            )
        }
        guard header.contains("'fortran_order': False") else {
            throw fail("expected a C-order array (fortran_order False)")
        }
        guard let open = header.range(of: "'shape': ("), let close = header[open.upperBound...].firstIndex(of: ")")
        else {
            throw fail("no shape in the .npy header")
        }
        let shape = header[open.upperBound..<close].split(separator: ",").compactMap {
            Int($0.trimmingCharacters(in: .whitespaces))
        }
        guard shape.count == 2 else { throw fail("expected a 2-D matrix (items × dimensions), found shape \(shape)") }
        let count = shape[0] * shape[1]
        let body = start + headerLength
        guard bytes.count - body == count * width else {
            throw fail("expected \(count * width) bytes of data for shape \(shape), found \(bytes.count - body)")
        }
        var values = [Float](repeating: 0, count: count)
        for i in 0..<count {
            let offset = body + i * width
            if width == 4 {
                let bits = (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[offset + $1]) << (8 * UInt32($1)) }
                values[i] = Float(bitPattern: bits)
            } else {
                let bits = (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[offset + $1]) << (8 * UInt64($1)) }
                values[i] = Float(Double(bitPattern: bits))
            }
        }
        guard values.allSatisfy(\.isFinite) else { throw fail("the matrix holds a value that is not a finite number") }
        return NumpyMatrix(rows: shape[0], columns: shape[1], values: values)
    }
}
