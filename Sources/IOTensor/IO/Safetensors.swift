/// The tensors and metadata of a safetensors file.
public struct SafetensorsArchive: Sendable {
    /// The tensors by name.
    public var tensors: [String: AnyTensor]
    /// The free-form `__metadata__` map (empty when the file has none).
    public var metadata: [String: String]

    /// Makes an archive from erased tensors and optional metadata.
    public init(tensors: [String: AnyTensor], metadata: [String: String] = [:]) {
        self.tensors = tensors
        self.metadata = metadata
    }

    /// The tensor called `name`, typed.
    ///
    /// - Throws: ``TensorError/invalidArgument(operation:reason:)`` when there is no such tensor,
    ///   ``TensorError/dtypeMismatch(operation:expected:actual:)`` when it has another dtype.
    public func tensor<Scalar: TensorScalar>(_ name: String, as type: Scalar.Type = Scalar.self) throws(TensorError) -> Tensor<Scalar> {
        guard let erased = tensors[name] else {
            throw .invalidArgument(
                operation: "SafetensorsArchive.tensor", reason: "no tensor named \"\(name)\"; the archive holds \(tensors.keys.sorted())")
        }
        return try erased.tensor(as: type)
    }
}

/// Reads and writes the safetensors format of Hugging Face: an 8-byte little-endian header
/// length, a JSON header naming each tensor's dtype, shape and byte range, then the raw data.
///
/// Files written here are byte-identical to those of the Python `safetensors` package for the same
/// tensors (tensors ordered by dtype, widest first, then by name; the header padded with spaces
/// to a multiple of 8 bytes). Reading validates everything an untrusted file could get wrong —
/// the header length, the JSON, dtypes, shapes, and that the byte ranges tile the data exactly —
/// and reports it as ``TensorIOError``.
///
/// ```swift
/// try Safetensors.write(["weight": AnyTensor(w), "bias": AnyTensor(b)], to: "model.safetensors")
/// let archive = try Safetensors.read(contentsOf: "model.safetensors")
/// let weight: Tensor<Float> = try archive.tensor("weight")
/// ```
public enum Safetensors {
    /// Headers larger than this are rejected, as the reference implementation does.
    public static let maximumHeaderSize = 100_000_000

    /// The file at `path`, decoded.
    public static func read(contentsOf path: String) throws(TensorIOError) -> SafetensorsArchive {
        try decode(FileAccess.read(path))
    }

    /// Writes `tensors` and `metadata` to `path` (atomically: through a temporary file).
    public static func write(_ tensors: [String: AnyTensor], metadata: [String: String] = [:], to path: String) throws(TensorIOError) {
        try FileAccess.write(encode(tensors, metadata: metadata), to: path)
    }

    /// Writes typed tensors of one element type to `path`.
    public static func write<Scalar: TensorScalar>(_ tensors: [String: Tensor<Scalar>], metadata: [String: String] = [:], to path: String)
        throws(TensorIOError)
    {
        try write(tensors.mapValues { AnyTensor($0) }, metadata: metadata, to: path)
    }

    /// The order in which the Python package lays tensors out: by dtype, widest first.
    static func layoutRank(_ dtype: DType) -> Int {
        switch dtype {
        case .int64: 0
        case .float64: 1
        case .float32: 2
        case .int32: 3
        case .uint8: 4
        case .bool: 5
        }
    }

    /// The file's bytes for `tensors` and `metadata`.
    public static func encode(_ tensors: [String: AnyTensor], metadata: [String: String] = [:]) throws(TensorIOError) -> [UInt8] {
        let ordered = tensors.sorted { left, right in
            let (a, b) = (layoutRank(left.value.dtype), layoutRank(right.value.dtype))
            return a != b ? a < b : left.key < right.key
        }
        var header: [UInt8] = [UInt8(ascii: "{")]
        var first = true
        if !metadata.isEmpty {
            header.append(contentsOf: Array(#""__metadata__":{"#.utf8))
            for (index, (key, value)) in metadata.sorted(by: { $0.key < $1.key }).enumerated() {
                if index > 0 { header.append(UInt8(ascii: ",")) }
                HeaderJSON.writeString(key, into: &header)
                header.append(UInt8(ascii: ":"))
                HeaderJSON.writeString(value, into: &header)
            }
            header.append(UInt8(ascii: "}"))
            first = false
        }
        var offset = 0
        for (name, tensor) in ordered {
            if name == "__metadata__" {
                throw .corrupt(what: "safetensors input", reason: "\"__metadata__\" is reserved and cannot name a tensor")
            }
            if !first { header.append(UInt8(ascii: ",")) }
            first = false
            HeaderJSON.writeString(name, into: &header)
            let shape = tensor.shape.map(String.init).joined(separator: ",")
            let end = offset + tensor.byteCount
            header.append(
                contentsOf: Array(
                    #":{"dtype":"\#(tensor.dtype.safetensorsName)","shape":[\#(shape)],"data_offsets":[\#(offset),\#(end)]}"#.utf8))
            offset = end
        }
        header.append(UInt8(ascii: "}"))
        while (header.count + 8) % 8 != 0 { header.append(UInt8(ascii: " ")) }

        var bytes: [UInt8] = []
        bytes.reserveCapacity(8 + header.count + offset)
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: header)
        for (_, tensor) in ordered { tensor.withUnsafeBytes { bytes.append(contentsOf: $0) } }
        return bytes
    }

    /// Decodes the bytes of a safetensors file.
    public static func decode(_ bytes: [UInt8]) throws(TensorIOError) -> SafetensorsArchive {
        guard bytes.count >= 8 else { throw .truncated(what: "safetensors header length", expected: 8, actual: bytes.count) }
        var length: UInt64 = 0
        for index in (0..<8).reversed() { length = length << 8 | UInt64(bytes[index]) }
        guard length <= UInt64(maximumHeaderSize) else {
            throw .corrupt(what: "safetensors file", reason: "header length \(length) exceeds the \(maximumHeaderSize)-byte limit")
        }
        let headerEnd = 8 + Int(length)
        guard headerEnd <= bytes.count else {
            throw .truncated(what: "safetensors header", expected: Int(length), actual: bytes.count - 8)
        }
        guard case .object(let members) = try HeaderJSON.parse(Array(bytes[8..<headerEnd])) else {
            throw .corrupt(what: "safetensors header", reason: "the header is not a JSON object")
        }
        let dataLength = bytes.count - headerEnd

        var metadata: [String: String] = [:]
        var entries: [(name: String, dtype: DType, shape: [Int], begin: Int, end: Int)] = []
        var names = Set<String>()
        for (name, value) in members {
            guard names.insert(name).inserted else {
                throw .corrupt(what: "safetensors header", reason: "\"\(name)\" appears twice")
            }
            if name == "__metadata__" {
                guard case .object(let pairs) = value else {
                    throw .corrupt(what: "safetensors header", reason: "__metadata__ is not an object")
                }
                for (key, entry) in pairs {
                    guard case .string(let text) = entry else {
                        throw .corrupt(what: "safetensors header", reason: "metadata value for \"\(key)\" is not a string")
                    }
                    metadata[key] = text
                }
                continue
            }
            entries.append(try entry(name, value, dataLength: dataLength))
        }

        // The byte ranges must tile the data exactly, in order and without gaps or overlaps.
        entries.sort { ($0.begin, $0.end) < ($1.begin, $1.end) }
        var expected = 0
        for entry in entries {
            guard entry.begin == expected else {
                throw .corrupt(
                    what: "safetensors header", reason: "tensor \"\(entry.name)\" starts at byte \(entry.begin), expected \(expected)")
            }
            expected = entry.end
        }
        guard expected == dataLength else {
            if expected > dataLength { throw .truncated(what: "safetensors data", expected: expected, actual: dataLength) }
            throw .corrupt(what: "safetensors file", reason: "\(dataLength - expected) bytes after the last tensor")
        }

        var tensors: [String: AnyTensor] = [:]
        var failure: TensorIOError?
        bytes.withUnsafeBytes { raw in
            for entry in entries {
                let slice = UnsafeRawBufferPointer(rebasing: raw[(headerEnd + entry.begin)..<(headerEnd + entry.end)])
                do throws(TensorError) {
                    tensors[entry.name] = try AnyTensor(dtype: entry.dtype, shape: entry.shape, bytes: slice)
                } catch {
                    failure = .corrupt(what: "safetensors tensor \"\(entry.name)\"", reason: error.description)
                    return
                }
            }
        }
        if let failure { throw failure }
        return SafetensorsArchive(tensors: tensors, metadata: metadata)
    }

    private static func entry(_ name: String, _ value: JSONValue, dataLength: Int) throws(TensorIOError) -> (
        name: String, dtype: DType, shape: [Int], begin: Int, end: Int
    ) {
        let what = "safetensors entry \"\(name)\""
        guard case .object(let fields) = value else { throw .corrupt(what: what, reason: "not an object") }
        var dtypeName: String?
        var shape: [Int]?
        var offsets: [Int]?
        for (key, field) in fields {
            switch (key, field) {
            case ("dtype", .string(let text)): dtypeName = text
            case ("shape", .array(let items)): shape = try integers(items, what: what)
            case ("data_offsets", .array(let items)): offsets = try integers(items, what: what)
            default: throw .corrupt(what: what, reason: "unexpected field \"\(key)\"")
            }
        }
        guard let dtypeName, let shape, let offsets else {
            throw .corrupt(what: what, reason: "dtype, shape and data_offsets are all required")
        }
        guard let dtype = DType(safetensorsName: dtypeName) else { throw .unsupportedDType(name: dtypeName, tensor: name) }
        guard offsets.count == 2, offsets[0] <= offsets[1], offsets[1] <= dataLength else {
            throw .corrupt(what: what, reason: "data_offsets \(offsets) do not lie within the \(dataLength) data bytes")
        }
        var elements = 1
        for dimension in shape {
            let (product, overflow) = elements.multipliedReportingOverflow(by: dimension)
            guard !overflow else { throw .corrupt(what: what, reason: "shape \(shape) overflows") }
            elements = product
        }
        let (byteCount, overflow) = elements.multipliedReportingOverflow(by: dtype.byteCount)
        guard !overflow, byteCount == offsets[1] - offsets[0] else {
            throw .corrupt(
                what: what,
                reason: "shape \(shape) of \(dtype) needs \(elements) elements but data_offsets span \(offsets[1] - offsets[0]) bytes")
        }
        return (name, dtype, shape, offsets[0], offsets[1])
    }

    private static func integers(_ items: [JSONValue], what: String) throws(TensorIOError) -> [Int] {
        var result: [Int] = []
        for item in items {
            guard case .number(let text) = item, let number = Int(text), number >= 0 else {
                throw .corrupt(what: what, reason: "expected a non-negative integer, found \(item)")
            }
            result.append(number)
        }
        return result
    }
}
