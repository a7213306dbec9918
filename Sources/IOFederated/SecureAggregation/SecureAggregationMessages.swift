import Foundation
import IORuntime

/// Round 0 of secure aggregation: a client's two X25519 public keys — one to encrypt the shares
/// it sends other clients, one to agree pairwise masks.
public struct AdvertisedKeys: Sendable, Equatable, WireCodable {
    /// The client's number, 1…n: its Shamir point.
    public var client: Int
    public var encryptionKey: Data
    public var maskingKey: Data

    public init(client: Int, encryptionKey: Data, maskingKey: Data) {
        self.client = client
        self.encryptionKey = encryptionKey
        self.maskingKey = maskingKey
    }
}

/// Round 1: one client's shares for another, encrypted and authenticated with a key only the
/// two of them can derive; the server routes it without reading it.
public struct EncryptedShares: Sendable, Equatable, WireCodable {
    public var from: Int
    public var to: Int
    /// ChaCha20-Poly1305, nonce and tag included.
    public var ciphertext: Data

    public init(from: Int, to: Int, ciphertext: Data) {
        self.from = from
        self.to = to
        self.ciphertext = ciphertext
    }
}

/// Round 2: a client's quantized input under its masks.
public struct MaskedInput: Sendable, Equatable, WireCodable {
    public var client: Int
    public var values: [UInt32]

    public init(client: Int, values: [UInt32]) {
        self.client = client
        self.values = values
    }
}

/// Round 3: what a surviving client reveals so the server can remove the masks — the self-mask
/// shares of clients that sent inputs, and the masking-key shares of clients that dropped out
/// after sharing; never both for one client.
public struct UnmaskingShares: Sendable, Equatable, WireCodable {
    public var client: Int
    public var selfMaskShares: [Int: SecretShare]
    public var maskingKeyShares: [Int: SecretShare]

    public init(client: Int, selfMaskShares: [Int: SecretShare], maskingKeyShares: [Int: SecretShare]) {
        self.client = client
        self.selfMaskShares = selfMaskShares
        self.maskingKeyShares = maskingKeyShares
    }
}

extension SecretShare: WireSerializable {
    public func encode(to encoder: inout WireEncoder) {
        encoder.write(x)
        encoder.writeLength(secretLength)
        values.encode(to: &encoder)
    }

    public init(from decoder: inout WireDecoder) throws(WireError) {
        x = try decoder.read(UInt64.self)
        secretLength = try decoder.readLength()
        values = try [UInt64](from: &decoder)
    }
}

/// The plaintext inside ``EncryptedShares``: who sent it to whom, and the two shares.
struct SharePlaintext: WireSerializable {
    var from: Int
    var to: Int
    var selfMask: SecretShare
    var maskingKey: SecretShare

    init(from: Int, to: Int, selfMask: SecretShare, maskingKey: SecretShare) {
        self.from = from
        self.to = to
        self.selfMask = selfMask
        self.maskingKey = maskingKey
    }

    func encode(to encoder: inout WireEncoder) {
        encoder.writeLength(from)
        encoder.writeLength(to)
        selfMask.encode(to: &encoder)
        maskingKey.encode(to: &encoder)
    }

    init(from decoder: inout WireDecoder) throws(WireError) {
        from = try decoder.readLength()
        to = try decoder.readLength()
        selfMask = try SecretShare(from: &decoder)
        maskingKey = try SecretShare(from: &decoder)
    }
}
