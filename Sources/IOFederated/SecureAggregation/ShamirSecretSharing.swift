/// Arithmetic modulo the Mersenne prime p = 2⁶¹ − 1.
struct PrimeField {
    static let modulus: UInt64 = (1 << 61) - 1

    static func reduce(_ value: UInt64) -> UInt64 {
        let folded = (value & modulus) &+ (value >> 61)
        return folded >= modulus ? folded - modulus : folded
    }

    static func add(_ a: UInt64, _ b: UInt64) -> UInt64 { reduce(a &+ b) }

    static func subtract(_ a: UInt64, _ b: UInt64) -> UInt64 { a >= b ? a - b : a &+ modulus &- b }

    static func multiply(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let (high, low) = a.multipliedFullWidth(by: b)
        // a·b = high·2⁶⁴ + low, and 2⁶¹ ≡ 1, so 2⁶⁴ ≡ 2³.
        let sum = (low & modulus) &+ (low >> 61) &+ (high << 3)
        return reduce(reduce(sum))
    }

    static func power(_ base: UInt64, _ exponent: UInt64) -> UInt64 {
        var (result, base, exponent) = (UInt64(1), base, exponent)
        while exponent > 0 {
            if exponent & 1 == 1 { result = multiply(result, base) }
            base = multiply(base, base)
            exponent >>= 1
        }
        return result
    }

    /// The inverse of a nonzero element (Fermat: a^(p−2)).
    static func inverse(_ a: UInt64) -> UInt64 { power(a, modulus - 2) }

    /// A uniform element from `source`.
    static func random<Source: RandomNumberGenerator>(using source: inout Source) -> UInt64 {
        while true {
            let candidate = source.next() >> 3
            if candidate < modulus { return candidate }
        }
    }
}

/// One shareholder's piece of a secret: the polynomials' values at `x`.
public struct SecretShare: Sendable, Equatable, Codable {
    /// The shareholder's point, 1…p − 1 (a client's number).
    public let x: UInt64
    /// One value per 7-byte chunk of the secret.
    public let values: [UInt64]
    /// The secret's length in bytes.
    public let secretLength: Int

    public init(x: UInt64, values: [UInt64], secretLength: Int) {
        self.x = x
        self.values = values
        self.secretLength = secretLength
    }
}

/// Shamir's t-out-of-n secret sharing (Shamir 1979) over GF(2⁶¹ − 1): any `threshold` shares
/// rebuild the secret, and fewer reveal nothing about it. Secrets are byte strings, shared 7
/// bytes (one field element) at a time.
public enum ShamirSecretSharing {
    static let chunkBytes = 7

    /// Shares of `secret` for the points `shareholders`, any `threshold` of which rebuild it.
    ///
    /// - Throws: ``FederatedError/secureAggregation(_:)`` unless 1 ≤ threshold ≤ shareholders
    ///   and the points are distinct, nonzero field elements.
    public static func split<Source: RandomNumberGenerator>(
        _ secret: [UInt8], threshold: Int, shareholders: [UInt64], using source: inout Source
    ) throws(FederatedError) -> [SecretShare] {
        guard threshold >= 1, threshold <= shareholders.count else {
            throw .secureAggregation("a threshold of \(threshold) for \(shareholders.count) shareholders")
        }
        guard Set(shareholders).count == shareholders.count, shareholders.allSatisfy({ $0 > 0 && $0 < PrimeField.modulus }) else {
            throw .secureAggregation("shareholder points must be distinct and in 1..<p")
        }
        let chunks = stride(from: 0, to: secret.count, by: chunkBytes).map { start in
            secret[start..<min(start + chunkBytes, secret.count)].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        }
        // One random polynomial of degree threshold − 1 per chunk, its constant term the chunk.
        let polynomials = chunks.map { chunk in [chunk] + (1..<threshold).map { _ in PrimeField.random(using: &source) } }
        return shareholders.map { x in
            SecretShare(
                x: x,
                values: polynomials.map { coefficients in
                    coefficients.reversed().reduce(UInt64(0)) { PrimeField.add(PrimeField.multiply($0, x), $1) }
                }, secretLength: secret.count)
        }
    }

    /// The secret rebuilt from `shares` (Lagrange interpolation at 0).
    ///
    /// - Throws: ``FederatedError/secureAggregation(_:)`` for fewer than `threshold` shares,
    ///   shares of different secrets, or a repeated point.
    public static func reconstruct(_ shares: [SecretShare], threshold: Int) throws(FederatedError) -> [UInt8] {
        guard threshold >= 1, shares.count >= threshold else {
            throw .secureAggregation("\(shares.count) shares for a threshold of \(threshold)")
        }
        let used = Array(shares.prefix(threshold))
        let length = used[0].secretLength
        let chunkCount = (length + chunkBytes - 1) / chunkBytes
        guard used.allSatisfy({ $0.secretLength == length && $0.values.count == chunkCount }),
            Set(used.map(\.x)).count == used.count, used.allSatisfy({ $0.x > 0 && $0.x < PrimeField.modulus })
        else { throw .secureAggregation("shares of different secrets or repeated points") }
        // Lagrange basis at 0: Π_{j≠i} x_j / (x_j − x_i).
        let weights = used.indices.map { i in
            used.indices.reduce(UInt64(1)) { product, j in
                guard j != i else { return product }
                let denominator = PrimeField.subtract(used[j].x, used[i].x)
                return PrimeField.multiply(product, PrimeField.multiply(used[j].x, PrimeField.inverse(denominator)))
            }
        }
        var bytes: [UInt8] = []
        for chunk in 0..<chunkCount {
            var value: UInt64 = 0
            for (share, weight) in zip(used, weights) {
                guard share.values[chunk] < PrimeField.modulus else { throw .secureAggregation("a share value outside the field") }
                value = PrimeField.add(value, PrimeField.multiply(share.values[chunk], weight))
            }
            let count = min(chunkBytes, length - chunk * chunkBytes)
            guard value >> (8 * UInt64(count)) == 0 else {
                throw .secureAggregation("the shares do not rebuild a secret of \(length) bytes")
            }
            for index in 0..<count { bytes.append(UInt8(truncatingIfNeeded: value >> (8 * UInt64(index)))) }
        }
        return bytes
    }
}
