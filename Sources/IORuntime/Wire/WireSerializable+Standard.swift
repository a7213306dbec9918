// Conformances of standard-library types.

extension Int: WireTrivialScalar {
    public func encode(to encoder: inout WireEncoder) { encoder.write(Int64(self)) }
    public init(from decoder: inout WireDecoder) throws(WireError) {
        let wide = try decoder.read(Int64.self)
        guard let value = Int(exactly: wide) else { throw .invalid(what: "Int", reason: "\(wide) does not fit") }
        self = value
    }
}

extension UInt: WireTrivialScalar {
    public func encode(to encoder: inout WireEncoder) { encoder.write(UInt64(self)) }
    public init(from decoder: inout WireDecoder) throws(WireError) {
        let wide = try decoder.read(UInt64.self)
        guard let value = UInt(exactly: wide) else { throw .invalid(what: "UInt", reason: "\(wide) does not fit") }
        self = value
    }
}

extension Int8: WireTrivialScalar {
    public func encode(to encoder: inout WireEncoder) { encoder.write(self) }
    public init(from decoder: inout WireDecoder) throws(WireError) { self = try decoder.read(Int8.self) }
}

extension Int16: WireTrivialScalar {
    public func encode(to encoder: inout WireEncoder) { encoder.write(self) }
    public init(from decoder: inout WireDecoder) throws(WireError) { self = try decoder.read(Int16.self) }
}

extension Int32: WireTrivialScalar {
    public func encode(to encoder: inout WireEncoder) { encoder.write(self) }
    public init(from decoder: inout WireDecoder) throws(WireError) { self = try decoder.read(Int32.self) }
}

extension Int64: WireTrivialScalar {
    public func encode(to encoder: inout WireEncoder) { encoder.write(self) }
    public init(from decoder: inout WireDecoder) throws(WireError) { self = try decoder.read(Int64.self) }
}

extension UInt8: WireTrivialScalar {
    public func encode(to encoder: inout WireEncoder) { encoder.write(self) }
    public init(from decoder: inout WireDecoder) throws(WireError) { self = try decoder.read(UInt8.self) }
}

extension UInt16: WireTrivialScalar {
    public func encode(to encoder: inout WireEncoder) { encoder.write(self) }
    public init(from decoder: inout WireDecoder) throws(WireError) { self = try decoder.read(UInt16.self) }
}

extension UInt32: WireTrivialScalar {
    public func encode(to encoder: inout WireEncoder) { encoder.write(self) }
    public init(from decoder: inout WireDecoder) throws(WireError) { self = try decoder.read(UInt32.self) }
}

extension UInt64: WireTrivialScalar {
    public func encode(to encoder: inout WireEncoder) { encoder.write(self) }
    public init(from decoder: inout WireDecoder) throws(WireError) { self = try decoder.read(UInt64.self) }
}

extension Float: WireTrivialScalar {
    public func encode(to encoder: inout WireEncoder) { encoder.write(self) }
    public init(from decoder: inout WireDecoder) throws(WireError) { self = try decoder.read(Float.self) }
}

extension Double: WireTrivialScalar {
    public func encode(to encoder: inout WireEncoder) { encoder.write(self) }
    public init(from decoder: inout WireDecoder) throws(WireError) { self = try decoder.read(Double.self) }
}

extension Bool: WireSerializable {
    public func encode(to encoder: inout WireEncoder) { encoder.write(self) }
    public init(from decoder: inout WireDecoder) throws(WireError) { self = try decoder.read(Bool.self) }
}

extension String: WireSerializable {
    public func encode(to encoder: inout WireEncoder) { encoder.write(self) }
    public init(from decoder: inout WireDecoder) throws(WireError) { self = try decoder.read(String.self) }
    public var wireByteCount: Int { utf8.count + 16 }
}

extension Optional: WireSerializable, TaskArgumentConvertible where Wrapped: WireSerializable {
    public typealias ArgumentValue = Self
    public func encode(to encoder: inout WireEncoder) {
        switch self {
        case .none: encoder.write(UInt8(0))
        case .some(let wrapped):
            encoder.write(UInt8(1))
            wrapped.encode(to: &encoder)
        }
    }
    public init(from decoder: inout WireDecoder) throws(WireError) {
        switch try decoder.read(UInt8.self) {
        case 0: self = .none
        case 1: self = .some(try Wrapped(from: &decoder))
        case let tag: throw .invalid(what: "Optional", reason: "tag \(tag)")
        }
    }
    public var wireByteCount: Int { self?.wireByteCount ?? 1 }
}

extension Array: WireSerializable, TaskArgumentConvertible where Element: WireSerializable {
    public typealias ArgumentValue = Self

    /// Arrays of fixed-width numbers are written as one block (the platform is little-endian);
    /// others element by element.
    public func encode(to encoder: inout WireEncoder) {
        encoder.writeLength(count)
        if Element.self is any WireTrivialScalar.Type && Element.self != Int.self && Element.self != UInt.self {
            withUnsafeBytes { encoder.writeRawBytes($0) }
        } else {
            for element in self { element.encode(to: &encoder) }
        }
    }

    public init(from decoder: inout WireDecoder) throws(WireError) {
        let count = try decoder.readLength()
        if Element.self is any WireTrivialScalar.Type && Element.self != Int.self && Element.self != UInt.self {
            let stride = MemoryLayout<Element>.stride
            let (byteCount, overflow) = count.multipliedReportingOverflow(by: stride)
            guard !overflow, byteCount <= decoder.remaining else {
                throw .truncated(what: "[\(Element.self)]", needed: overflow ? Int.max : byteCount, remaining: decoder.remaining)
            }
            self = try decoder.readRawBytes(count: byteCount, "[\(Element.self)]") { raw in
                [Element](unsafeUninitializedCapacity: count) { buffer, initialized in
                    if byteCount > 0 { UnsafeMutableRawBufferPointer(buffer).copyMemory(from: raw) }
                    initialized = count
                }
            }
        } else {
            // Every element takes at least one byte, so a count beyond the remaining bytes is a
            // lie; checking first keeps a hostile count from reserving memory.
            guard count <= decoder.remaining else {
                throw .truncated(what: "[\(Element.self)]", needed: count, remaining: decoder.remaining)
            }
            var elements: [Element] = []
            elements.reserveCapacity(count)
            for _ in 0..<count { elements.append(try Element(from: &decoder)) }
            self = elements
        }
    }

    public var wireByteCount: Int {
        if Element.self is any WireTrivialScalar.Type { return count * MemoryLayout<Element>.stride + 16 }
        return reduce(16) { $0 + $1.wireByteCount }
    }
}

extension Dictionary: WireSerializable, TaskArgumentConvertible where Key: WireSerializable, Value: WireSerializable {
    public typealias ArgumentValue = Self
    public func encode(to encoder: inout WireEncoder) {
        encoder.writeLength(count)
        for (key, value) in self {
            key.encode(to: &encoder)
            value.encode(to: &encoder)
        }
    }
    public init(from decoder: inout WireDecoder) throws(WireError) {
        let count = try decoder.readLength()
        guard count <= decoder.remaining else {
            throw .truncated(what: "Dictionary", needed: count, remaining: decoder.remaining)
        }
        var result: [Key: Value] = [:]
        result.reserveCapacity(count)
        for _ in 0..<count {
            let key = try Key(from: &decoder)
            guard result.updateValue(try Value(from: &decoder), forKey: key) == nil else {
                throw .invalid(what: "Dictionary", reason: "duplicate key \(key)")
            }
        }
        self = result
    }
}
