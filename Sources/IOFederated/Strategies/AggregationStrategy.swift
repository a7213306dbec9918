import IORuntime

/// How the server turns a round's client updates into the next global parameters.
///
/// Strategies see only updates that passed ``Screening/screen(_:against:)``: the layout of the
/// global parameters, finite values and a positive sample count. Stateful strategies (server
/// optimizers, momentum) keep their state between rounds, so call ``aggregate(_:global:)`` once
/// per round, in order.
public protocol AggregationStrategy: Sendable {
    /// A short name for logs and histories ("FedAvg", "Krum").
    var name: String { get }
    /// What clients are told with the global parameters (FedProx's μ).
    var clientSettings: ClientSettings { get }
    /// The next global parameters from this round's `updates` and the current `global` ones.
    ///
    /// - Throws: ``FederatedError/notEnoughClients(needed:available:)`` when the strategy needs
    ///   more updates than it got (Krum needs f + 3).
    mutating func aggregate(_ updates: [ClientUpdate], global: ModelParameters) throws(FederatedError) -> ModelParameters
    /// Whether the strategy needs only the sample-weighted mean of the updates, so that it can
    /// run on a secure aggregate (the FedAvg family); robust strategies need each update.
    var aggregatesWeightedMean: Bool { get }
}

extension AggregationStrategy {
    public var aggregatesWeightedMean: Bool { false }
}

/// Settings the server sends clients for their local training.
public struct ClientSettings: Sendable, Equatable, WireCodable {
    /// μ of FedProx's proximal term μ/2·‖w − w_global‖² (0: plain local training).
    public var proximalMu: Double
    /// Local differential privacy: the client clips and noises its update before it leaves.
    public var localPrivacy: LocalPrivacy?

    public init(proximalMu: Double = 0, localPrivacy: LocalPrivacy? = nil) {
        self.proximalMu = proximalMu
        self.localPrivacy = localPrivacy
    }
}

/// An update left out of a round, and why.
public struct Exclusion: Sendable, Equatable, CustomStringConvertible {
    public var client: String
    public var reason: String

    public init(client: String, reason: String) {
        self.client = client
        self.reason = reason
    }

    public var description: String { "\(client): \(reason)" }
}

/// The checks every update passes before any strategy sees it.
public enum Screening {
    /// `updates` split into those a strategy may aggregate and those excluded with a reason:
    /// another layout than `global`'s, a NaN or infinity, a sample count below 1, or a client that
    /// answered twice (its later answers are excluded).
    public static func screen(_ updates: [ClientUpdate], against global: ModelParameters) -> (
        accepted: [ClientUpdate], excluded: [Exclusion]
    ) {
        var accepted: [ClientUpdate] = []
        var excluded: [Exclusion] = []
        var seen: Set<String> = []
        for update in updates {
            if update.parameters.layout != global.layout {
                excluded.append(Exclusion(client: update.client, reason: "parameters of another shape than the global model's"))
            } else if !update.parameters.isFinite {
                excluded.append(Exclusion(client: update.client, reason: "parameters that are not finite (NaN or infinity)"))
            } else if update.sampleCount < 1 {
                excluded.append(Exclusion(client: update.client, reason: "a sample count of \(update.sampleCount)"))
            } else if !seen.insert(update.client).inserted {
                excluded.append(Exclusion(client: update.client, reason: "a second answer in the same round"))
            } else {
                accepted.append(update)
            }
        }
        return (accepted, excluded)
    }
}

/// Element-wise arithmetic on parameter vectors, accumulated in `Double`.
enum VectorMath {
    /// The mean of `vectors` weighted by `weights`.
    static func weightedMean(_ vectors: [[Float]], weights: [Double]) -> [Float] {
        let total = weights.reduce(0, +)
        var sum = [Double](repeating: 0, count: vectors.first?.count ?? 0)
        for (vector, weight) in zip(vectors, weights) {
            let share = weight / total
            for index in sum.indices { sum[index] += Double(vector[index]) * share }
        }
        return sum.map { Float($0) }
    }

    static func squaredDistance(_ a: [Float], _ b: [Float]) -> Double {
        var total = 0.0
        for index in a.indices {
            let difference = Double(a[index]) - Double(b[index])
            total += difference * difference
        }
        return total
    }
}
