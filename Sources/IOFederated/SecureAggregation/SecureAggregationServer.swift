import Crypto
import Foundation

/// The server's side of one round of secure aggregation: it relays keys and encrypted shares,
/// collects masked inputs, and — with the shares at least `threshold` survivors reveal — removes
/// the masks from their sum. It never holds an unmasked input.
///
/// Call ``register(_:)``, ``route(_:)``, ``collect(_:)`` and ``finish(_:)`` in that order; each
/// step's clients may be fewer than the last's (dropouts), never fewer than the threshold.
public struct SecureAggregationServer {
    public let threshold: Int
    public let quantizer: Quantizer
    public let vectorLength: Int
    public let round: String
    /// The degree of the masking graph; `nil` for the complete graph.
    public let degree: Int?
    private var roster: [Int: AdvertisedKeys] = [:]
    private var neighbors: [Int: Set<Int>] = [:]
    /// U₂: clients that shared their keys.
    public private(set) var sharers: Set<Int> = []
    /// U₃: clients whose masked inputs arrived.
    public private(set) var survivors: [Int] = []
    private var sum: [UInt32] = []

    /// - Throws: ``FederatedError/secureAggregation(_:)`` for a threshold below 2 or more
    ///   clients than the quantizer sums without wrapping.
    public init(threshold: Int, quantizer: Quantizer, vectorLength: Int, round: String, degree: Int? = nil) throws(FederatedError) {
        guard threshold >= 2, vectorLength >= 0 else { throw .secureAggregation("the threshold must be at least 2") }
        guard degree.map({ $0 >= 2 }) ?? true else { throw .secureAggregation("a masking graph needs a degree of at least 2") }
        self.threshold = threshold
        self.quantizer = quantizer
        self.vectorLength = vectorLength
        self.round = round
        self.degree = degree
    }

    /// Round 0: the clients' keys, checked, as the roster every client gets.
    ///
    /// - Throws: ``FederatedError/secureAggregation(_:)`` for a repeated client or key, more
    ///   clients than the quantizer allows, or fewer than the threshold.
    public mutating func register(_ keys: [AdvertisedKeys]) throws(FederatedError) -> [AdvertisedKeys] {
        let allKeys = keys.flatMap { [$0.encryptionKey, $0.maskingKey] }
        guard Set(keys.map(\.client)).count == keys.count, Set(allKeys).count == allKeys.count else {
            throw .secureAggregation("two clients advertised the same number or key")
        }
        guard keys.count >= threshold, keys.count <= quantizer.clients else {
            throw .secureAggregation("\(keys.count) clients for a threshold of \(threshold) and a quantizer for \(quantizer.clients)")
        }
        roster = Dictionary(uniqueKeysWithValues: keys.map { ($0.client, $0) })
        neighbors = SecureAggregationGraph.neighbors(of: keys.map(\.client), degree: degree, round: round)
        return keys.sorted { $0.client < $1.client }
    }

    /// Round 1: the encrypted shares each client sent, regrouped by recipient. Whoever sent
    /// shares is in U₂.
    ///
    /// - Throws: ``FederatedError/secureAggregation(_:)`` for a message whose sender is not the
    ///   client that sent the batch or whose recipient is not on the roster, or when fewer than
    ///   the threshold shared.
    public mutating func route(_ batches: [Int: [EncryptedShares]]) throws(FederatedError) -> [Int: [EncryptedShares]] {
        var inboxes: [Int: [EncryptedShares]] = [:]
        for (sender, messages) in batches {
            guard let mine = neighbors[sender], messages.allSatisfy({ $0.from == sender && mine.contains($0.to) }) else {
                throw .secureAggregation("client \(sender) sent shares under another name or to a client it is not joined to")
            }
            for message in messages { inboxes[message.to, default: []].append(message) }
        }
        sharers = Set(batches.keys)
        guard sharers.count >= threshold else { throw .notEnoughClients(needed: threshold, available: sharers.count) }
        return inboxes.filter { sharers.contains($0.key) }.mapValues { $0.filter { sharers.contains($0.from) } }
    }

    /// Round 2: the masked inputs that arrived; the survivors (U₃) to send every client.
    ///
    /// - Throws: ``FederatedError/secureAggregation(_:)`` for an input from a client that did not
    ///   share keys, a repeated one, or one of the wrong length; ``FederatedError/notEnoughClients(needed:available:)``
    ///   below the threshold.
    public mutating func collect(_ inputs: [MaskedInput]) throws(FederatedError) -> [Int] {
        guard Set(inputs.map(\.client)).count == inputs.count,
            inputs.allSatisfy({ sharers.contains($0.client) && $0.values.count == vectorLength })
        else { throw .secureAggregation("a masked input from outside U₂, repeated, or not \(vectorLength) long") }
        guard inputs.count >= threshold else { throw .notEnoughClients(needed: threshold, available: inputs.count) }
        sum = [UInt32](repeating: 0, count: vectorLength)
        for input in inputs { for index in sum.indices { sum[index] &+= input.values[index] } }
        survivors = inputs.map(\.client).sorted()
        return survivors
    }

    /// Round 3: the sum of the survivors' inputs, from the shares at least `threshold` of them
    /// revealed; and how many inputs it sums.
    ///
    /// - Throws: ``FederatedError/notEnoughClients(needed:available:)`` when fewer than the
    ///   threshold answered; ``FederatedError/secureAggregation(_:)`` when shares are missing or
    ///   do not rebuild a key.
    public func finish(_ answers: [UnmaskingShares]) throws(FederatedError) -> (sum: [Double], count: Int) {
        let alive = Set(survivors)
        let valid = answers.filter { alive.contains($0.client) }
        guard Set(valid.map(\.client)).count >= threshold else {
            throw .notEnoughClients(needed: threshold, available: Set(valid.map(\.client)).count)
        }
        var total = sum
        do {
            for member in survivors {
                let shares = valid.compactMap { $0.selfMaskShares[member] }
                let seed = try ShamirSecretSharing.reconstruct(shares, threshold: threshold)
                try MaskGenerator.apply(seed: SymmetricKey(data: seed), sign: -1, to: &total)
            }
            for dropped in sharers.subtracting(alive).sorted() {
                let shares = valid.compactMap { $0.maskingKeyShares[dropped] }
                let key = try Curve25519.KeyAgreement.PrivateKey(
                    rawRepresentation: try ShamirSecretSharing.reconstruct(shares, threshold: threshold))
                guard key.publicKey.rawRepresentation == roster[dropped]?.maskingKey else {
                    throw FederatedError.secureAggregation("the shares of client \(dropped)'s masking key rebuild another key")
                }
                // Only its neighbours masked with it (all survivors, in the complete graph).
                for member in survivors where neighbors[dropped]?.contains(member) == true {
                    let peerKey = try Curve25519.KeyAgreement.PublicKey(rawRepresentation: roster[member]!.maskingKey)
                    // The survivor added its pair mask with `dropped`: + when its number is lower.
                    try MaskGenerator.apply(
                        seed: try MaskGenerator.pairSeed(key, peerKey, round: round), sign: member < dropped ? -1 : 1, to: &total)
                }
            }
        } catch let error as FederatedError {
            throw error
        } catch {
            throw .secureAggregation("unmasking failed: \(error)")
        }
        return (quantizer.dequantizeSum(total, count: survivors.count), survivors.count)
    }
}
