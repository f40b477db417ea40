/// Why a checkpoint could not be read or written. Each description starts with the file it is
/// about, then says what is wrong and why, so that it can be shown to a user as is.
public enum CheckpointError: Error, CustomStringConvertible, Equatable {
    /// The file ends before the data its own header describes (an interrupted copy or write).
    case truncated(source: String, reason: String)
    /// The bytes do not form a valid checkpoint: bad header, inconsistent offsets or shapes,
    /// or a checksum that does not match.
    case corrupted(source: String, reason: String)
    /// A tensor's dtype is one this build does not read (only F32 is supported).
    case unsupportedDType(source: String, tensor: String, dtype: String)
    /// Written by a MetaRec format version this build does not read.
    case unsupportedVersion(source: String, found: String, supported: String)
    /// A safetensors file without `metarec.format` in its `__metadata__`, read in strict mode.
    case notMetaRecCheckpoint(source: String)
    /// The file could not be opened or read.
    case unreadable(source: String, reason: String)
    /// The checkpoint could not be written; any previous file at the path is untouched.
    case writeFailed(path: String, reason: String)

    public var description: String {
        switch self {
        case .truncated(let source, let reason):
            return "\(source): truncated: \(reason)"
        case .corrupted(let source, let reason):
            return "\(source): corrupted: \(reason)"
        case .unsupportedDType(let source, let tensor, let dtype):
            return "\(source): unsupported dtype \(dtype) for tensor \(jsonQuoted(tensor)); this build reads only F32"
        case .unsupportedVersion(let source, let found, let supported):
            return "\(source): unsupported format: written by format version \(found); "
                + "this build reads version \(supported)"
        case .notMetaRecCheckpoint(let source):
            return "\(source): not a MetaRec checkpoint (no metarec.format in __metadata__); "
                + "to read a plain safetensors file, pass requireMetaRecFormat: false"
        case .unreadable(let source, let reason):
            return "\(source): cannot read: \(reason)"
        case .writeFailed(let path, let reason):
            return "\(path): cannot write checkpoint: \(reason)"
        }
    }
}

/// `text` as a JSON string literal: quoted, with quotes, backslashes and control characters
/// escaped. The header writer uses it, and so do error messages, so that an odd tensor name
/// cannot make a message ambiguous.
func jsonQuoted(_ text: String) -> String {
    var result = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": result += "\\\""
        case "\\": result += "\\\\"
        case "\n": result += "\\n"
        case "\r": result += "\\r"
        case "\t": result += "\\t"
        case _ where scalar.value < 0x20:
            let hex = String(scalar.value, radix: 16)
            result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        default: result.unicodeScalars.append(scalar)
        }
    }
    return result + "\""
}
