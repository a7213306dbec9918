import IONN
import IORuntime
import IORuntimeTensor
import IOTensor

/// One client's data as its node loaded it — training rows and held-out rows — with the
/// configuration of the client that will learn from it.
///
/// Made by a task on the client's node with `TaskOptions.pinsResult` set, it stays
/// there: the client actor is built from it on that node
/// (`Cluster.spawnClient(on:options:)`), and the runtime refuses to move it
/// anywhere else.
public struct ClientData: Sendable {
    public var configuration: ClientConfiguration
    public var train: LabeledData<Float>
    public var test: LabeledData<Float>

    public init(configuration: ClientConfiguration, train: LabeledData<Float>, test: LabeledData<Float>) {
        self.configuration = configuration
        self.train = train
        self.test = test
    }
}

extension ClientData: WireSerializable {
    public func encode(to encoder: inout WireEncoder) {
        configuration.encode(to: &encoder)
        for part in [train, test] {
            part.features.encode(to: &encoder)
            part.labels.encode(to: &encoder)
        }
    }

    public init(from decoder: inout WireDecoder) throws(WireError) {
        configuration = try ClientConfiguration(from: &decoder)
        var parts: [LabeledData<Float>] = []
        for name in ["training", "held-out"] {
            let features = try Tensor<Float>(from: &decoder)
            let labels = try [Int](from: &decoder)
            // A class number per row: a sender's lying counts stop here.
            guard features.rank >= 1, features.shape[0] == labels.count, labels.allSatisfy({ $0 >= 0 }),
                let part = try? LabeledData(features: features, labels: labels)
            else {
                throw .invalid(
                    what: "client data",
                    reason: "\(labels.count) \(name) labels (class numbers ≥ 0) for features of shape \(features.shape)")
            }
            parts.append(part)
        }
        train = parts[0]
        test = parts[1]
    }
}
