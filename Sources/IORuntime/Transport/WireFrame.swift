/// The unit a ``Transport`` moves: a protocol version, a message kind, a metadata map reserved
/// for trace context, and the message's payload bytes.
///
/// Layout: version (1 byte), kind (2 bytes, little-endian), metadata count and pairs of
/// length-prefixed UTF-8 strings, then the payload as a length-prefixed block. A transport adds
/// its own framing (such as a length prefix on a TCP stream) around this.
public struct WireFrame: Sendable, Equatable {
    /// The protocol version this build writes and reads.
    public static let currentVersion: UInt8 = 1
    /// Frames whose payload exceeds this are rejected on decode.
    public static let maximumPayload = 1 << 30

    /// The protocol version.
    public var version: UInt8
    /// What the payload holds (see `RuntimeMessage`).
    public var kind: UInt16
    /// Free-form metadata, reserved for trace context.
    public var metadata: [String: String]
    /// The encoded message.
    public var payload: [UInt8]

    public init(kind: UInt16, metadata: [String: String] = [:], payload: [UInt8], version: UInt8 = WireFrame.currentVersion) {
        self.version = version
        self.kind = kind
        self.metadata = metadata
        self.payload = payload
    }

    /// This frame's bytes.
    public func encoded() -> [UInt8] {
        var bytes = encodedHeader()
        bytes.append(contentsOf: payload)
        return bytes
    }

    /// This frame's bytes up to the payload: `encodedHeader() + payload` is `encoded()`. A
    /// transport writes the two parts one after the other instead of joining them first.
    public func encodedHeader() -> [UInt8] {
        Self.encodedHeader(kind: kind, metadata: metadata, payloadLength: payload.count, version: version)
    }

    /// The header of a frame of `kind` whose payload of `payloadLength` bytes the caller writes
    /// after it (from memory it owns, without building a frame first).
    public static func encodedHeader(
        kind: UInt16, metadata: [String: String] = [:], payloadLength: Int, version: UInt8 = currentVersion
    ) -> [UInt8] {
        var encoder = WireEncoder(reservingCapacity: 32)
        encoder.write(version)
        encoder.write(kind)
        encoder.writeLength(metadata.count)
        for (key, value) in metadata.sorted(by: { $0.key < $1.key }) {
            encoder.write(key)
            encoder.write(value)
        }
        encoder.writeLength(payloadLength)
        return encoder.bytes
    }

    /// Parses the start of a frame's bytes — everything up to the payload — and returns the frame
    /// without its payload, how many bytes the header took, and the payload's length; `nil` when
    /// `prefix` holds less than the whole header or the header is invalid (decode the whole frame
    /// with ``init(decoding:)`` then, for the precise error). A transport uses it to copy a large
    /// payload once, straight from its receive buffer.
    public static func parseHeader(_ prefix: [UInt8]) -> (frame: WireFrame, headerLength: Int, payloadLength: Int)? {
        var decoder = WireDecoder(prefix)
        guard let (frame, length) = try? readHeader(&decoder) else { return nil }
        return (frame, decoder.position, length)
    }

    /// Reads a frame's header: the frame with an empty payload, and the payload's length.
    private static func readHeader(_ decoder: inout WireDecoder) throws(WireError) -> (WireFrame, payloadLength: Int) {
        let version = try decoder.read(UInt8.self)
        guard version == Self.currentVersion else { throw .unsupportedVersion(version) }
        let kind = try decoder.read(UInt16.self)
        let pairs = try decoder.readLength()
        guard pairs <= decoder.remaining / 2 else {
            throw .truncated(
                what: "frame metadata", needed: pairs.multipliedReportingOverflow(by: 2).overflow ? Int.max : pairs * 2,
                remaining: decoder.remaining)
        }
        var metadata: [String: String] = [:]
        for _ in 0..<pairs {
            let key = try decoder.read(String.self)
            metadata[key] = try decoder.read(String.self)
        }
        let length = try decoder.readLength()
        guard length <= Self.maximumPayload else {
            throw .invalid(what: "frame", reason: "payload of \(length) bytes exceeds the \(Self.maximumPayload)-byte cap")
        }
        return (WireFrame(kind: kind, metadata: metadata, payload: [], version: version), length)
    }

    /// Decodes a frame, rejecting other versions, oversized payloads and trailing bytes.
    public init(decoding bytes: [UInt8]) throws(WireError) {
        var decoder = WireDecoder(bytes)
        let (header, length) = try Self.readHeader(&decoder)
        guard length <= decoder.remaining else {
            throw .truncated(what: "frame payload", needed: length, remaining: decoder.remaining)
        }
        self = header
        payload = try decoder.readRawBytes(count: length, "frame payload") { Array($0) }
        guard decoder.isAtEnd else { throw .invalid(what: "frame", reason: "\(decoder.remaining) bytes after the payload") }
    }
}
