import FoundationEssentials
import IORuntime

/// What the controller asks a runner to start: trial `trial` of `trainable` with the values
/// known so far, from `checkpoint` (taken after `step` reports) when it continues.
struct TrialStart: Sendable, WireSerializable {
    var trainable: String
    var trial: Int
    var configuration: Configuration
    var checkpoint: TrialCheckpoint?
    var step: Int

    func encode(to encoder: inout WireEncoder) {
        encoder.write(trainable)
        encoder.write(Int64(trial))
        encoder.writeJSON(configuration)
        encoder.encode(checkpoint)
        encoder.write(Int64(step))
    }

    init(trainable: String, trial: Int, configuration: Configuration, checkpoint: TrialCheckpoint?, step: Int) {
        self.trainable = trainable
        self.trial = trial
        self.configuration = configuration
        self.checkpoint = checkpoint
        self.step = step
    }

    init(from decoder: inout WireDecoder) throws(WireError) {
        trainable = try decoder.read(String.self)
        trial = Int(try decoder.read(Int64.self))
        configuration = try decoder.readJSON(Configuration.self)
        checkpoint = try decoder.decode(TrialCheckpoint?.self)
        step = Int(try decoder.read(Int64.self))
    }
}

/// What a running trial tells the controller, one at a time: each waits for a ``TrialAnswer``
/// except the last (`finished`, `failed`).
enum TrialEvent: Sendable, WireSerializable {
    /// The trial asks for parameter `name` drawn from `distribution` (define-by-run).
    case needs(String, Distribution)
    /// The trial reports its metrics after a step, with a checkpoint or not.
    case report([String: Double], TrialCheckpoint?)
    /// The trainable returned (or stopped when told to).
    case finished
    /// The trainable threw: the error's type and description.
    case failed(String)

    func encode(to encoder: inout WireEncoder) {
        switch self {
        case .needs(let name, let distribution):
            encoder.write(UInt8(0))
            encoder.write(name)
            encoder.writeJSON(distribution)
        case .report(let metrics, let checkpoint):
            encoder.write(UInt8(1))
            encoder.encode(metrics)
            encoder.encode(checkpoint)
        case .finished:
            encoder.write(UInt8(2))
        case .failed(let reason):
            encoder.write(UInt8(3))
            encoder.write(reason)
        }
    }

    init(from decoder: inout WireDecoder) throws(WireError) {
        switch try decoder.read(UInt8.self) {
        case 0: self = .needs(try decoder.read(String.self), try decoder.readJSON(Distribution.self))
        case 1: self = .report(try decoder.decode([String: Double].self), try decoder.decode(TrialCheckpoint?.self))
        case 2: self = .finished
        case 3: self = .failed(try decoder.read(String.self))
        case let tag: throw .invalid(what: "TrialEvent", reason: "unknown tag \(tag)")
        }
    }

    var wireByteCount: Int {
        if case .report(let metrics, let checkpoint) = self { return metrics.count * 32 + (checkpoint?.wireByteCount ?? 0) }
        return 64
    }
}

/// The controller's answer to a ``TrialEvent``: the value asked for, go on, or stop.
enum TrialAnswer: Sendable, Hashable, WireSerializable {
    case value(ParameterValue)
    case proceed
    case stop

    func encode(to encoder: inout WireEncoder) {
        switch self {
        case .value(let value):
            encoder.write(UInt8(0))
            encoder.writeJSON(value)
        case .proceed: encoder.write(UInt8(1))
        case .stop: encoder.write(UInt8(2))
        }
    }

    init(from decoder: inout WireDecoder) throws(WireError) {
        switch try decoder.read(UInt8.self) {
        case 0: self = .value(try decoder.readJSON(ParameterValue.self))
        case 1: self = .proceed
        case 2: self = .stop
        case let tag: throw .invalid(what: "TrialAnswer", reason: "unknown tag \(tag)")
        }
    }
}

extension WireEncoder {
    /// Writes a small `Codable` value as a block of JSON.
    mutating func writeJSON(_ value: some Encodable) {
        let data = (try? JSONEncoder().encode(value)) ?? Data()
        data.withUnsafeBytes { writeBlock($0) }
    }
}

extension WireDecoder {
    /// Reads a value written by ``WireEncoder/writeJSON(_:)``.
    mutating func readJSON<T: Decodable>(_ type: T.Type) throws(WireError) -> T {
        let block = try readBlock()
        do {
            return try JSONDecoder().decode(type, from: Data(block))
        } catch {
            throw .invalid(what: String(describing: type), reason: "\(error)")
        }
    }
}
