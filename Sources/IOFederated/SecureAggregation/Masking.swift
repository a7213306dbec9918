import Crypto
import Foundation

/// Maps floats to the group Z_{2³²} where masks cancel, and sums back: each value is clipped to
/// ±`range` and spread over `levels` steps, few enough that the sum of `clients` inputs never
/// wraps.
public struct Quantizer: Sendable, Equatable {
    /// Values beyond ±range are clipped.
    public let range: Double
    /// The largest number of inputs summed.
    public let clients: Int
    /// The quantization steps of one input: ⌊(2³² − 1) / clients⌋.
    public var levels: UInt32 { UInt32(UInt64(UInt32.max) / UInt64(clients)) }

    /// - Throws: ``FederatedError/invalidConfiguration(_:)`` unless the range is positive and
    ///   finite and there are 1 to 2¹⁶ clients.
    public init(range: Double, clients: Int) throws(FederatedError) {
        guard range > 0, range.isFinite, clients >= 1, clients <= 1 << 16 else {
            throw .invalidConfiguration("quantization needs a positive range and 1 to 65,536 clients")
        }
        self.range = range
        self.clients = clients
    }

    /// The worst rounding error of one value.
    public var resolution: Double { range / Double(levels) }

    public func quantize(_ values: [Float]) -> [UInt32] {
        let scale = Double(levels) / (2 * range)
        return values.map { value in
            let clipped = Swift.min(Swift.max(Double(value), -range), range)
            return UInt32(((clipped + range) * scale).rounded())
        }
    }

    /// The sum of `count` inputs from the sum of their quantized values.
    public func dequantizeSum(_ sum: [UInt32], count: Int) -> [Double] {
        let scale = 2 * range / Double(levels)
        return sum.map { Double($0) * scale - Double(count) * range }
    }
}

/// Expands a 32-byte seed into a mask of 32-bit words: the ChaCha20 keystream under the seed (the
/// encryption of zeros with a zero nonce; each seed masks one vector in one round).
enum MaskGenerator {
    static func mask(seed: SymmetricKey, count: Int) throws -> [UInt32] {
        let zeros = Data(count: count * 4)
        let sealed = try ChaChaPoly.seal(zeros, using: seed, nonce: try ChaChaPoly.Nonce(data: Data(count: 12)))
        return sealed.ciphertext.withUnsafeBytes { raw in
            (0..<count).map { raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self) }
        }
    }

    /// Adds (`sign` 1) or subtracts (−1) the mask of `seed` into `vector`, wrapping.
    static func apply(seed: SymmetricKey, sign: Int, to vector: inout [UInt32]) throws {
        let mask = try mask(seed: seed, count: vector.count)
        if sign > 0 {
            for index in vector.indices { vector[index] &+= mask[index] }
        } else {
            for index in vector.indices { vector[index] &-= mask[index] }
        }
    }

    /// The pairwise seed two clients agree on: HKDF-SHA256 of their X25519 shared secret, bound
    /// to the round.
    static func pairSeed(
        _ privateKey: Curve25519.KeyAgreement.PrivateKey, _ publicKey: Curve25519.KeyAgreement.PublicKey, round: String
    ) throws -> SymmetricKey {
        try privateKey.sharedSecretFromKeyAgreement(with: publicKey).hkdfDerivedSymmetricKey(
            using: SHA256.self, salt: Data("iocompute-secagg-mask".utf8), sharedInfo: Data(round.utf8), outputByteCount: 32)
    }
}
