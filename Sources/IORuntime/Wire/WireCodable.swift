import FoundationEssentials

/// A bridge for `Codable` types: adopt `WireCodable` and the type becomes ``WireSerializable``
/// with no code, encoded as a binary property list inside a length-prefixed block.
///
/// Convenient for configuration structs, small records and anything already `Codable`; for
/// values on hot paths — large arrays, tensors, per-task arguments — write a ``WireSerializable``
/// conformance by hand, which is several times smaller and faster.
///
/// ```swift
/// struct TrainingConfig: WireCodable { var learningRate: Double; var layers: [Int] }
/// ```
public protocol WireCodable: WireSerializable, Codable {}

extension WireCodable {
    public func encode(to encoder: inout WireEncoder) {
        let coder = PropertyListEncoder()
        coder.outputFormat = .binary
        do {
            let data = try coder.encode(self)
            data.withUnsafeBytes { encoder.writeBlock($0) }
        } catch {
            // Encoding a Codable value only fails for values its own `encode(to:)` rejects
            // (such as a non-finite Double with some encoders); send an empty block, which the
            // decoder reports as invalid rather than crashing either side.
            encoder.writeLength(0)
        }
    }

    public init(from decoder: inout WireDecoder) throws(WireError) {
        let block = try decoder.readBlock()
        guard !block.isEmpty else { throw .invalid(what: Self.wireTypeName, reason: "the sender could not encode the value") }
        do {
            self = try PropertyListDecoder().decode(Self.self, from: Data(block))
        } catch {
            throw .invalid(what: Self.wireTypeName, reason: "\(error)")
        }
    }
}
