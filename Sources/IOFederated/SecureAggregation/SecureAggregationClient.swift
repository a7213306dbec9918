import Crypto
import Foundation
import IORuntime

/// A client's side of one round of secure aggregation (Bonawitz et al. 2017, the semi-honest
/// protocol): it masks its input with a self mask and one pairwise mask per other client, and
/// Shamir-shares the self-mask seed and its masking key so that the server can remove the masks
/// of clients that drop out — but, with fewer than `threshold` colluding clients, learns only the
/// sum. With a `degree`, it does all of that with its neighbours in a sparse graph only, as in
/// SecAgg+ (see ``SecureAggregationGraph``); `threshold` then counts within a neighbourhood.
///
/// Call ``advertise()``, ``shareKeys(roster:)``, ``maskedInput(_:received:)`` and
/// ``unmask(survivors:)`` in that order, passing what the server relays.
public struct SecureAggregationClient {
    public let client: Int
    public let threshold: Int
    public let quantizer: Quantizer
    /// Binds the keys and masks to one round.
    public let round: String
    /// The degree of the masking graph; `nil` for the complete graph.
    public let degree: Int?
    private let encryptionKey = Curve25519.KeyAgreement.PrivateKey()
    private let maskingKey = Curve25519.KeyAgreement.PrivateKey()
    private let selfMaskSeed = SymmetricKey(size: .bits256)
    private var roster: [Int: AdvertisedKeys] = [:]
    /// The clients this one masks and shares with (the whole roster but itself, without a degree).
    private var neighbors: Set<Int> = []
    /// Clients whose shares this client holds (U₂), with those shares.
    private var held: [Int: SharePlaintext] = [:]
    private var ownShares: SharePlaintext?
    /// The key of the channel to each peer, agreed once (X25519 is most of the protocol's work).
    private var channelKeys: [Int: SymmetricKey] = [:]
    private var revealed = false

    /// - Throws: ``FederatedError/secureAggregation(_:)`` for a client number outside 1…2¹⁶ or a
    ///   threshold below 2.
    public init(client: Int, threshold: Int, quantizer: Quantizer, round: String, degree: Int? = nil) throws(FederatedError) {
        guard (1...(1 << 16)).contains(client), threshold >= 2 else {
            throw .secureAggregation("client numbers are 1…65,536 and the threshold at least 2")
        }
        guard degree.map({ $0 >= 2 }) ?? true else { throw .secureAggregation("a masking graph needs a degree of at least 2") }
        self.client = client
        self.threshold = threshold
        self.quantizer = quantizer
        self.round = round
        self.degree = degree
    }

    /// Round 0: the public keys to send the server.
    public func advertise() -> AdvertisedKeys {
        AdvertisedKeys(
            client: client, encryptionKey: encryptionKey.publicKey.rawRepresentation, maskingKey: maskingKey.publicKey.rawRepresentation)
    }

    /// Round 1: given every client's keys as the server relays them, this client's shares for
    /// each other client, encrypted to it.
    ///
    /// - Throws: ``FederatedError/secureAggregation(_:)`` when the roster is smaller than the
    ///   threshold, repeats a client or a key, or does not list this client's own keys as its own
    ///   (a server that echoes them under another number).
    public mutating func shareKeys(roster keys: [AdvertisedKeys]) throws(FederatedError) -> [EncryptedShares] {
        guard keys.count >= threshold else { throw .secureAggregation("a roster of \(keys.count) for a threshold of \(threshold)") }
        let numbers = keys.map(\.client)
        let allKeys = keys.flatMap { [$0.encryptionKey, $0.maskingKey] }
        guard Set(numbers).count == keys.count, Set(allKeys).count == allKeys.count,
            numbers.allSatisfy({ (1...(1 << 16)).contains($0) })
        else { throw .secureAggregation("a roster that repeats a client or a key") }
        guard keys.first(where: { $0.client == client }) == advertise() else {
            throw .secureAggregation("a roster that does not hold client \(client)'s own keys")
        }
        for entry in keys {
            guard (try? Curve25519.KeyAgreement.PublicKey(rawRepresentation: entry.encryptionKey)) != nil,
                (try? Curve25519.KeyAgreement.PublicKey(rawRepresentation: entry.maskingKey)) != nil
            else { throw .secureAggregation("client \(entry.client) advertised a malformed key") }
        }
        roster = Dictionary(uniqueKeysWithValues: keys.map { ($0.client, $0) })
        neighbors = SecureAggregationGraph.neighbors(of: numbers, degree: degree, round: round)[client] ?? []
        guard neighbors.count + 1 >= threshold else {
            throw .secureAggregation("\(neighbors.count) neighbours for a threshold of \(threshold)")
        }
        var random = SystemRandomNumberGenerator()
        let sharing = numbers.filter { $0 == client || neighbors.contains($0) }
        let points = sharing.map { UInt64($0) }
        let selfMask = try ShamirSecretSharing.split(
            selfMaskSeed.withUnsafeBytes { Array($0) }, threshold: threshold, shareholders: points, using: &random)
        let keyShares = try ShamirSecretSharing.split(
            Array(maskingKey.rawRepresentation), threshold: threshold, shareholders: points, using: &random)
        var messages: [EncryptedShares] = []
        for (index, peer) in sharing.enumerated() {
            let plaintext = SharePlaintext(from: client, to: peer, selfMask: selfMask[index], maskingKey: keyShares[index])
            if peer == client {
                ownShares = plaintext
                continue
            }
            var encoder = WireEncoder()
            plaintext.encode(to: &encoder)
            do {
                let key = try channelKey(with: peer)
                channelKeys[peer] = key
                let box = try ChaChaPoly.seal(encoder.bytes, using: key, authenticating: Self.header(from: client, to: peer, round: round))
                messages.append(EncryptedShares(from: client, to: peer, ciphertext: box.combined))
            } catch {
                throw .secureAggregation("could not encrypt shares for client \(peer): \(error)")
            }
        }
        return messages
    }

    /// Round 2: this client's input, quantized and masked, after taking the shares other clients
    /// sent it (whoever sent shares is in U₂ and gets a pairwise mask).
    ///
    /// - Throws: ``FederatedError/secureAggregation(_:)`` when a message fails authentication,
    ///   claims another sender or recipient, comes from a client not on the roster, or too few
    ///   clients sent shares.
    public mutating func maskedInput(_ input: [Float], received: [EncryptedShares]) throws(FederatedError) -> MaskedInput {
        guard let ownShares else { throw .secureAggregation("masking before sharing keys") }
        var held: [Int: SharePlaintext] = [client: ownShares]
        for message in received {
            guard message.to == client, message.from != client, neighbors.contains(message.from), held[message.from] == nil else {
                throw .secureAggregation("a share message from \(message.from) to \(message.to) that client \(client) cannot take")
            }
            let plaintext: SharePlaintext
            do {
                let box = try ChaChaPoly.SealedBox(combined: message.ciphertext)
                let bytes = try ChaChaPoly.open(
                    box, using: try channelKeys[message.from] ?? channelKey(with: message.from),
                    authenticating: Self.header(from: message.from, to: client, round: round))
                var decoder = WireDecoder(Array(bytes))
                plaintext = try SharePlaintext(from: &decoder)
            } catch {
                throw .secureAggregation("shares from client \(message.from) failed authentication: \(error)")
            }
            guard plaintext.from == message.from, plaintext.to == client, plaintext.selfMask.x == UInt64(client),
                plaintext.maskingKey.x == UInt64(client)
            else {
                throw .secureAggregation("shares from client \(message.from) name another sender or recipient")
            }
            held[message.from] = plaintext
        }
        guard held.count >= threshold else { throw .secureAggregation("\(held.count) clients shared keys, fewer than \(threshold)") }
        self.held = held
        var values = quantizer.quantize(input)
        do {
            try MaskGenerator.apply(seed: selfMaskSeed, sign: 1, to: &values)
            for peer in held.keys where peer != client {
                let peerKey = try Curve25519.KeyAgreement.PublicKey(rawRepresentation: roster[peer]!.maskingKey)
                try MaskGenerator.apply(
                    seed: try MaskGenerator.pairSeed(maskingKey, peerKey, round: round), sign: client < peer ? 1 : -1, to: &values)
            }
        } catch {
            throw .secureAggregation("masking failed: \(error)")
        }
        return MaskedInput(client: client, values: values)
    }

    /// Round 3: given the clients whose masked inputs the server received (U₃), the self-mask
    /// shares of those clients and the masking-key shares of the others in U₂. Answers once.
    ///
    /// - Throws: ``FederatedError/secureAggregation(_:)`` when the list is smaller than the
    ///   threshold, names a client that did not share keys, leaves this client out, or is asked for
    ///   a second time (two different lists would reveal both shares of one client).
    public mutating func unmask(survivors: [Int]) throws(FederatedError) -> UnmaskingShares {
        let alive = Set(survivors)
        guard !revealed else { throw .secureAggregation("client \(client) already revealed its shares for this round") }
        guard alive.count == survivors.count, alive.contains(client), alive.isSubset(of: Set(roster.keys)),
            alive.intersection(held.keys).count >= threshold
        else {
            throw .secureAggregation("a survivor list of \(survivors.count) clients that client \(client) cannot answer")
        }
        revealed = true
        var selfMasks: [Int: SecretShare] = [:]
        var maskingKeys: [Int: SecretShare] = [:]
        for (peer, shares) in held {
            if alive.contains(peer) { selfMasks[peer] = shares.selfMask } else { maskingKeys[peer] = shares.maskingKey }
        }
        return UnmaskingShares(client: client, selfMaskShares: selfMasks, maskingKeyShares: maskingKeys)
    }

    /// The key of the channel between this client and `peer`.
    private func channelKey(with peer: Int) throws -> SymmetricKey {
        guard let keys = roster[peer] else { throw FederatedError.secureAggregation("client \(peer) is not on the roster") }
        let publicKey = try Curve25519.KeyAgreement.PublicKey(rawRepresentation: keys.encryptionKey)
        return try encryptionKey.sharedSecretFromKeyAgreement(with: publicKey).hkdfDerivedSymmetricKey(
            using: SHA256.self, salt: Data("iocompute-secagg-channel".utf8), sharedInfo: Data(round.utf8), outputByteCount: 32)
    }

    static func header(from: Int, to: Int, round: String) -> Data { Data("\(from)->\(to)@\(round)".utf8) }
}
