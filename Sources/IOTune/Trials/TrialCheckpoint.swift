import IORuntime

/// A trial's saved state: named files of bytes (`model.safetensors`, `optimizer.safetensors`, …),
/// sent with a report and kept by the experiment, so that a trial that is retried, paused, resumed
/// or (under PBT) continued by another trial starts from it.
///
/// ```swift
/// let weights = try Safetensors.encode(model.stateDictionary().mapValues { AnyTensor($0) })
/// try await trial.report(["accuracy": accuracy], checkpoint: TrialCheckpoint(files: ["model.safetensors": weights]))
/// ```
public struct TrialCheckpoint: Sendable, Hashable, WireSerializable {
    /// The files by name.
    public var files: [String: [UInt8]]

    public init(files: [String: [UInt8]]) { self.files = files }

    /// A checkpoint of one file, `checkpoint.bin`.
    public init(_ bytes: [UInt8]) { files = [Self.defaultName: bytes] }

    /// The name of the file ``init(_:)`` makes.
    public static let defaultName = "checkpoint.bin"

    /// The file `name`, if the checkpoint has one.
    public subscript(name: String) -> [UInt8]? { files[name] }

    /// The bytes of a checkpoint made with ``init(_:)``.
    public var bytes: [UInt8]? { files[Self.defaultName] }

    public func encode(to encoder: inout WireEncoder) { encoder.encode(files) }

    public init(from decoder: inout WireDecoder) throws(WireError) {
        files = try decoder.decode([String: [UInt8]].self)
    }

    public var wireByteCount: Int { files.reduce(0) { $0 + $1.key.utf8.count + $1.value.count + 16 } }
}
