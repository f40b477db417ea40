import Foundation
import Testing

@testable import MetaRecCore

@Suite struct CheckpointTests {
    // MARK: Helpers

    /// A fresh directory for one test, removed afterwards.
    private func withTemporaryDirectory(_ body: (URL) throws -> Void) throws {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("CheckpointTests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(at: directory) }
        try body(directory)
    }

    private func contents(of directory: URL) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
    }

    /// Tensors of rank 0 to 3, empty ones, and names and metadata that need JSON escaping.
    private var sample: Checkpoint {
        Checkpoint(
            tensors: [
                "scalar": StoredTensor(shape: [], values: [3.25]),
                "layer1.bias": StoredTensor(shape: [3], values: [0.5, -1.5, .infinity]),
                "layer1.weight": StoredTensor(shape: [2, 3], values: [1, 2, 3, -4, .leastNonzeroMagnitude, -0.0]),
                "cube": StoredTensor(shape: [2, 1, 2], values: [0.1, 0.2, 0.3, 0.4]),
                "empty": StoredTensor(shape: [0, 4], values: []),
                "zero.last": StoredTensor(shape: [3, 0], values: []),  // empty and last: ends at the end
                "naïve/権重 \"q\"\\": StoredTensor(shape: [1], values: [.greatestFiniteMagnitude]),
            ],
            metadata: [
                "config": #"{"hidden": [64, 64], "name": "MeLU \"small\"", "path": "a\\b"}"#,
                "note": "naïve café — 日本語 🚀\nsecond line\t!",
            ])
    }

    /// Two small tensors: 12 bytes of data.
    private var tiny: Checkpoint {
        Checkpoint(
            tensors: [
                "a": StoredTensor(shape: [2], values: [1.0, -2.5]),
                "b": StoredTensor(shape: [], values: [0.15625]),
            ],
            metadata: ["k": "v"])
    }

    private func headerLength(_ bytes: [UInt8]) -> Int {
        Int(bytes[0..<8].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) })
    }

    /// A safetensors file as Python's `safetensors` writes it: header padded with spaces to a
    /// multiple of 8, then the little-endian data.
    private func safetensorsFile(header: String, data: [UInt8]) -> [UInt8] {
        var json = Array(header.utf8)
        json += [UInt8](repeating: 0x20, count: (8 - json.count % 8) % 8)
        let length = UInt64(json.count)
        return (0..<8).map { UInt8(truncatingIfNeeded: length >> (8 * $0)) } + json + data
    }

    private func read(_ bytes: [UInt8], requireMetaRecFormat: Bool = true) -> Result<Checkpoint, CheckpointError> {
        Result { try Checkpoint(bytes: bytes, source: "test.safetensors", requireMetaRecFormat: requireMetaRecFormat) }
            .mapError { ($0 as? CheckpointError) ?? .unreadable(source: "unexpected error type", reason: "\($0)") }
    }

    private enum Kind: String { case truncated, corrupted, dtype, version, notMetaRec, other }

    private func kind(_ error: CheckpointError) -> Kind {
        switch error {
        case .truncated: return .truncated
        case .corrupted: return .corrupted
        case .unsupportedDType: return .dtype
        case .unsupportedVersion: return .version
        case .notMetaRecCheckpoint: return .notMetaRec
        case .unreadable, .writeFailed: return .other
        }
    }

    /// Little-endian bytes of F32 values, written out by hand so that the checks below do not
    /// depend on the code under test.
    private let one: [UInt8] = [0x00, 0x00, 0x80, 0x3F]  // 1.0 = 0x3F800000
    private let minusTwoAndAHalf: [UInt8] = [0x00, 0x00, 0x20, 0xC0]  // -2.5 = 0xC0200000
    private let fiveThirtySeconds: [UInt8] = [0x00, 0x00, 0x20, 0x3E]  // 0.15625 = 0x3E200000

    // MARK: Round trip and layout

    @Test func crc32MatchesTheStandardCheckValue() {
        var crc = CRC32()
        crc.update(Array("123456789".utf8))
        #expect(crc.value == 0xCBF4_3926)
        #expect(crc.hexValue == "cbf43926")
        var empty = CRC32()
        empty.update([])
        #expect(empty.hexValue == "00000000")
    }

    @Test func roundTripThroughAFile() throws {
        try withTemporaryDirectory { directory in
            let url = directory.appendingPathComponent("model.safetensors")
            let original = sample
            try original.write(to: url)
            let loaded = try Checkpoint(contentsOf: url)
            #expect(loaded == original)
            #expect(loaded.metadata == original.metadata)  // the reserved keys are not handed back
            let bits = { (c: Checkpoint) in c.tensors["layer1.weight"]?.values.map(\.bitPattern) }
            #expect(bits(loaded) == bits(original))  // -0.0 and the subnormal survive bit for bit

            let bytes = original.serialized()
            #expect(bytes == original.serialized())
            #expect(try Data(contentsOf: url) == Data(bytes))
            #expect(loaded.serialized() == bytes)
        }
    }

    @Test func nanPayloadsSurvive() throws {
        let nan = Float(bitPattern: 0x7FC0_1234)
        let checkpoint = Checkpoint(tensors: ["x": StoredTensor(shape: [2], values: [nan, -.nan])])
        let loaded = try Checkpoint(bytes: checkpoint.serialized(), source: "nan")
        #expect(loaded.tensors["x"]?.values.map(\.bitPattern) == [0x7FC0_1234, (-Float.nan).bitPattern])
    }

    @Test func emptyCheckpointRoundTrips() throws {
        let empty = Checkpoint()
        #expect(try Checkpoint(bytes: empty.serialized(), source: "empty") == empty)
    }

    @Test func layoutIsSafetensors() throws {
        let bytes = tiny.serialized()
        let length = headerLength(bytes)
        #expect(length % 8 == 0)
        #expect(bytes.count == 8 + length + 12)

        let header = Array(bytes[8..<(8 + length)])
        let json = try #require(String(bytes: header, encoding: .utf8))
        #expect(json.hasPrefix("{"))
        let trimmed = json.replacingOccurrences(of: " +$", with: "", options: .regularExpression)
        #expect(trimmed.hasSuffix("}"))
        #expect(json.count - trimmed.count < 8)

        let object = try #require(try JSONSerialization.jsonObject(with: Data(header)) as? [String: Any])
        #expect(Set(object.keys) == ["__metadata__", "a", "b"])
        let a = try #require(object["a"] as? [String: Any])
        let b = try #require(object["b"] as? [String: Any])
        #expect(a["dtype"] as? String == "F32")
        #expect(a["shape"] as? [Int] == [2])
        #expect(a["data_offsets"] as? [Int] == [0, 8])
        #expect(b["dtype"] as? String == "F32")
        #expect(b["shape"] as? [Int] == [])
        #expect(b["data_offsets"] as? [Int] == [8, 12])
        let metadata = try #require(object["__metadata__"] as? [String: String])
        #expect(metadata["k"] == "v")
        #expect(metadata["metarec.format"] == "1")
        let checksum = try #require(metadata["metarec.checksum"])
        #expect(checksum.count == 8 && checksum.allSatisfy { "0123456789abcdef".contains($0) })

        #expect(Array(bytes[(8 + length)...]) == one + minusTwoAndAHalf + fiveThirtySeconds)
    }

    // MARK: Interoperability with plain safetensors

    @Test func plainSafetensorsNeedsTheOption() throws {
        let data = one + minusTwoAndAHalf + fiveThirtySeconds + one
        let python = safetensorsFile(
            header: #"{"__metadata__":{"format":"pt"},"b":{"dtype":"F32","shape":[1],"data_offsets":[12,16]},"#
                + #""w":{"dtype":"F32","shape":[1,3],"data_offsets":[0,12]}}"#,
            data: data)
        let expected = Checkpoint(
            tensors: [
                "w": StoredTensor(shape: [1, 3], values: [1.0, -2.5, 0.15625]),
                "b": StoredTensor(shape: [1], values: [1.0]),
            ],
            metadata: ["format": "pt"])

        #expect(try read(python, requireMetaRecFormat: false).get() == expected)
        let error = try #require(read(python).failure)
        #expect(error == .notMetaRecCheckpoint(source: "test.safetensors"))
        #expect(error.description.contains("test.safetensors"))
        #expect(error.description.contains("not a MetaRec checkpoint (no metarec.format in __metadata__)"))

        // Through a file too, and without any __metadata__ at all.
        let bare = safetensorsFile(header: #"{"x":{"dtype":"F32","shape":[],"data_offsets":[0,4]}}"#, data: one)
        try withTemporaryDirectory { directory in
            let url = directory.appendingPathComponent("from-python.safetensors")
            try Data(bare).write(to: url)
            let loaded = try Checkpoint(contentsOf: url, requireMetaRecFormat: false)
            #expect(loaded == Checkpoint(tensors: ["x": StoredTensor(shape: [], values: [1])]))
            #expect(throws: CheckpointError.notMetaRecCheckpoint(source: url.path)) {
                try Checkpoint(contentsOf: url)
            }
        }
    }

    @Test func ourFilesReadAsPlainSafetensorsAreStillVerified() throws {
        var bytes = tiny.serialized()
        #expect(try read(bytes, requireMetaRecFormat: false).get() == tiny)
        bytes[bytes.count - 1] ^= 1
        #expect(read(bytes, requireMetaRecFormat: false).failure.map(kind) == .corrupted)
    }

    @Test func otherDTypesAreRefusedByName() throws {
        let bf16 = safetensorsFile(
            header: #"{"h":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]}}"#, data: [0, 0x3F, 0, 0x40])
        let error = try #require(read(bf16, requireMetaRecFormat: false).failure)
        #expect(error == .unsupportedDType(source: "test.safetensors", tensor: "h", dtype: "BF16"))
        #expect(error.description.contains("BF16") && error.description.contains("only F32"))
    }

    // MARK: Damaged files

    @Test func everyTruncationIsReportedAsTruncated() throws {
        let bytes = tiny.serialized()
        let dataStart = 8 + headerLength(bytes)
        for cut in 0..<bytes.count {
            let result = read(Array(bytes[..<cut]))
            let error = try #require(result.failure, "a file cut to \(cut) of \(bytes.count) bytes was accepted")
            #expect(kind(error) == .truncated, "cut at \(cut): \(error)")
            #expect(error.description.contains("test.safetensors: truncated"))
            if cut > dataStart {
                #expect(
                    error.description.contains(
                        "header says tensor \"b\" ends at byte 12 but the data section has only \(cut - dataStart) bytes"
                    ),
                    "\(error)")
            }
        }
        #expect(try read(bytes).get() == tiny)  // the uncut file is fine
    }

    @Test func everyBitFlipInTheDataIsCaught() throws {
        let bytes = sample.serialized()
        let dataStart = 8 + headerLength(bytes)
        #expect(bytes.count - dataStart == 4 * 15)
        for index in dataStart..<bytes.count {
            for bit in 0..<8 {
                var damaged = bytes
                damaged[index] ^= 1 << bit
                let error = try #require(read(damaged).failure, "flip of bit \(bit) of byte \(index) was accepted")
                #expect(kind(error) == .corrupted)
                #expect(error.description.contains("corrupted: checksum mismatch: expected"), "\(error)")
            }
        }
    }

    @Test func everyBitFlipInTheHeaderIsRefused() throws {
        let bytes = tiny.serialized()
        let length = headerLength(bytes)
        let header = Array(bytes[8..<(8 + length)])
        // Where a flip may legitimately read as something other than damage: the length field
        // (a shorter file) and the version number (another version).
        func range(of text: String) throws -> Range<Int> {  // in the file
            let needle = Array(text.utf8)
            let start = try #require(
                (0...(header.count - needle.count)).first { Array(header[$0..<($0 + needle.count)]) == needle })
            return (8 + start)..<(8 + start + needle.count)
        }
        let versionDigit = try range(of: #""metarec.format":"1""#).upperBound - 2
        var counts: [Kind: Int] = [:]
        for index in 0..<(8 + length) {
            for bit in 0..<8 {
                var damaged = bytes
                damaged[index] ^= 1 << bit
                let error = try #require(read(damaged).failure, "flip of bit \(bit) of byte \(index) was accepted")
                let found = kind(error)
                counts[found, default: 0] += 1
                let allowed: Set<Kind> =
                    index < 8
                    ? [.truncated, .corrupted] : index == versionDigit ? [.version, .corrupted] : [.corrupted]
                #expect(allowed.contains(found), "flip of bit \(bit) of byte \(index): \(error)")
            }
        }
        #expect(counts[.corrupted, default: 0] > 8 * length * 9 / 10, "\(counts)")
    }

    @Test func absurdHeaderLengthsAreRefusedWithoutAllocating() throws {
        for length: UInt64 in [100_000_001, 1 << 40, .max] {
            let bytes = (0..<8).map { UInt8(truncatingIfNeeded: length >> (8 * $0)) } + Array("{}".utf8)
            let error = try #require(read(bytes).failure)
            #expect(kind(error) == .corrupted)
            #expect(error.description.contains("over the 100000000-byte limit"), "\(error)")
        }
    }

    @Test func inconsistentHeadersAreRefusedWithAReason() throws {
        let f32 = #""dtype":"F32""#
        let cases: [(header: String, data: [UInt8], kind: Kind, says: String)] = [
            ("[1, 2]", [], .corrupted, "the header is not a JSON object"),
            (#"{"x": "#, [], .corrupted, "not valid JSON"),
            (#"{"x":{"shape":[1],"data_offsets":[0,4]}}"#, one, .corrupted, #"tensor "x" has no dtype"#),
            (#"{"x":{\#(f32),"data_offsets":[0,4]}}"#, one, .corrupted, #"tensor "x" has no shape"#),
            (#"{"x":{\#(f32),"shape":[1]}}"#, one, .corrupted, #"tensor "x" has no data_offsets"#),
            (
                #"{"x":{\#(f32),"shape":"1","data_offsets":[0,4]}}"#, one, .corrupted,
                #"header["x"]["shape"] is not an array"#
            ),
            (#"{"x":{\#(f32),"shape":[1.5],"data_offsets":[0,4]}}"#, one, .corrupted, #"tensor "x" cannot be decoded"#),
            (#"{"x":{\#(f32),"shape":[-1],"data_offsets":[0,4]}}"#, one, .corrupted, "negative dimension"),
            (#"{"x":{\#(f32),"shape":[2],"data_offsets":[0,4]}}"#, one, .corrupted, "span 4 bytes"),
            (#"{"x":{\#(f32),"shape":[1],"data_offsets":[4,0]}}"#, one, .corrupted, "0 <= begin <= end"),
            (#"{"x":{\#(f32),"shape":[1],"data_offsets":[0]}}"#, one, .corrupted, "expected [begin, end]"),
            (#"{"x":5}"#, one, .corrupted, #"header["x"] is not a JSON object"#),
            (#"{"x":{\#(f32),"shape":[1],"data_offsets":[4,8]}}"#, one + one, .corrupted, "gap"),
            (
                #"{"x":{\#(f32),"shape":[2],"data_offsets":[0,8]},"y":{\#(f32),"shape":[1],"data_offsets":[4,8]}}"#,
                one + one, .corrupted, "inside the previous tensor"
            ),
            (#"{"x":{\#(f32),"shape":[1],"data_offsets":[0,4]}}"#, one + one, .corrupted, "data section has 8 bytes"),
            (
                #"{"x":{\#(f32),"shape":[4611686018427387904,4],"data_offsets":[0,4]}}"#, one, .corrupted,
                "too many elements"
            ),
            (
                #"{"x":{\#(f32),"shape":[1],"data_offsets":[0,99999999999999999999]}}"#, one, .corrupted,
                "99999999999999999999"
            ),
            (#"{"__metadata__":{"n":1}}"#, [], .corrupted, #"header["__metadata__"]["n"] is not a string"#),
            (
                // "é" composed and decomposed: different bytes, but equal as Swift strings.
                #"{"\#u{E9}":{\#(f32),"shape":[1],"data_offsets":[0,4]},"e\#u{301}":{\#(f32),"shape":[1],"#
                    + #""data_offsets":[4,8]}}"#, one + one, .corrupted, "the tensors end at byte 4"
            ),
            (#"{"x":{\#(f32),"shape":[3],"data_offsets":[0,12]}}"#, one, .truncated, "ends at byte 12"),
        ]
        for item in cases {
            var bytes = safetensorsFile(header: item.header, data: item.data)
            let error = try #require(read(bytes, requireMetaRecFormat: false).failure, "accepted: \(item.header)")
            #expect(kind(error) == item.kind, "\(item.header): \(error)")
            #expect(error.description.contains(item.says), "\(item.header): \(error)")
            bytes[8] = 0xFF  // and invalid UTF-8 in the same place
            #expect(read(bytes, requireMetaRecFormat: false).failure?.description.contains("not valid UTF-8") == true)
        }
    }

    @Test func aMissingChecksumIsCorruption() throws {
        let file = safetensorsFile(
            header: #"{"__metadata__":{"metarec.format":"1"},"x":{"dtype":"F32","shape":[],"data_offsets":[0,4]}}"#,
            data: one)
        let error = try #require(read(file, requireMetaRecFormat: false).failure)
        #expect(error == .corrupted(source: "test.safetensors", reason: "no metarec.checksum in __metadata__"))
    }

    @Test func otherVersionsAreRefusedNamingBothVersions() throws {
        let file = safetensorsFile(
            header: #"{"__metadata__":{"metarec.format":"2","metarec.checksum":"00000000"},"#
                + #""x":{"dtype":"F64","shape":[],"data_offsets":[0,8]}}"#,
            data: one + one)
        for strict in [true, false] {
            let error = try #require(read(file, requireMetaRecFormat: strict).failure)
            #expect(error == .unsupportedVersion(source: "test.safetensors", found: "2", supported: "1"))
            #expect(error.description.contains("written by format version 2; this build reads version 1"))
            #expect(error.description.hasPrefix("test.safetensors: "))
        }
    }

    // MARK: Atomic writes

    @Test func writingReplacesAnExistingFileAndLeavesNoTemporaries() throws {
        try withTemporaryDirectory { directory in
            let url = directory.appendingPathComponent("model.safetensors")
            try Data("an older, different file".utf8).write(to: url)
            try sample.write(to: url)
            #expect(try Checkpoint(contentsOf: url) == sample)
            try tiny.write(to: url)
            #expect(try Checkpoint(contentsOf: url) == tiny)
            #expect(try contents(of: directory) == ["model.safetensors"])
        }
    }

    @Test func writingIntoAMissingDirectoryThrowsAndLeavesNothing() throws {
        try withTemporaryDirectory { directory in
            let url = directory.appendingPathComponent("missing/model.safetensors")
            let error = try #require(throws: CheckpointError.self) { try tiny.write(to: url) }
            #expect(error.description.hasPrefix(url.path), "\(error)")
            #expect(error.description.contains("No such file or directory"), "\(error)")
            #expect(try contents(of: directory) == [])
        }
    }

    @Test func aFailedRenameRemovesTheTemporaryAndKeepsTheTarget() throws {
        try withTemporaryDirectory { directory in
            // A non-empty directory at the target path: rename(2) over it fails.
            let target = directory.appendingPathComponent("model.safetensors")
            try FileManager.default.createDirectory(at: target, withIntermediateDirectories: false)
            try Data("keep".utf8).write(to: target.appendingPathComponent("inside"))
            let error = try #require(throws: CheckpointError.self) { try tiny.write(to: target) }
            #expect(error.description.contains("rename failed"), "\(error)")
            #expect(try contents(of: directory) == ["model.safetensors"])
            #expect(try contents(of: target) == ["inside"])
        }
    }

    @Test func unreadableFilesNameThePath() throws {
        try withTemporaryDirectory { directory in
            let url = directory.appendingPathComponent("absent.safetensors")
            let error = try #require(throws: CheckpointError.self) { try Checkpoint(contentsOf: url) }
            guard case .unreadable(let source, _) = error else {
                Issue.record("expected unreadable, got \(error)")
                return
            }
            #expect(source == url.path)
        }
    }
}

extension Result {
    fileprivate var failure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
