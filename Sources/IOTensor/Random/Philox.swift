/// The Philox4x32-10 counter-based random number generator (Salmon, Moraes, Dror and Shaw,
/// "Parallel random numbers: as easy as 1, 2, 3", SC 2011).
///
/// Block `n` of the stream for key `k` is a pure function of `(k, n)`: ten rounds of two 32-bit
/// multiplications and a key schedule. Element `i` of a random tensor is drawn from block
/// `i / 4`, so any slice can be generated independently, on any thread, process or machine, and
/// the same seed gives the same numbers everywhere.
struct Philox4x32 {
    static let multiplier0: UInt32 = 0xD251_1F53
    static let multiplier1: UInt32 = 0xCD9E_8D57
    static let weyl0: UInt32 = 0x9E37_79B9
    static let weyl1: UInt32 = 0xBB67_AE85

    let key0: UInt32
    let key1: UInt32

    init(seed: UInt64) {
        key0 = UInt32(truncatingIfNeeded: seed)
        key1 = UInt32(truncatingIfNeeded: seed >> 32)
    }

    /// The four 32-bit words of block `counter` in stream `stream`.
    @inline(__always)
    func block(_ counter: UInt64, stream: UInt64 = 0) -> (UInt32, UInt32, UInt32, UInt32) {
        var c0 = UInt32(truncatingIfNeeded: counter)
        var c1 = UInt32(truncatingIfNeeded: counter >> 32)
        var c2 = UInt32(truncatingIfNeeded: stream)
        var c3 = UInt32(truncatingIfNeeded: stream >> 32)
        var k0 = key0
        var k1 = key1
        for _ in 0..<10 {
            let product0 = UInt64(Self.multiplier0) * UInt64(c0)
            let product1 = UInt64(Self.multiplier1) * UInt64(c2)
            let high0 = UInt32(truncatingIfNeeded: product0 >> 32)
            let low0 = UInt32(truncatingIfNeeded: product0)
            let high1 = UInt32(truncatingIfNeeded: product1 >> 32)
            let low1 = UInt32(truncatingIfNeeded: product1)
            (c0, c1, c2, c3) = (high1 ^ c1 ^ k0, low1, high0 ^ c3 ^ k1, low0)
            k0 = k0 &+ Self.weyl0
            k1 = k1 &+ Self.weyl1
        }
        return (c0, c1, c2, c3)
    }

    /// A uniform float in [0, 1) from the top 24 bits of a word.
    @inline(__always) static func unitFloat(_ word: UInt32) -> Float { Float(word >> 8) * 0x1p-24 }

    /// A uniform double in [0, 1) from 53 bits of two words.
    @inline(__always) static func unitDouble(_ high: UInt32, _ low: UInt32) -> Double {
        Double((UInt64(high) << 32 | UInt64(low)) >> 11) * 0x1p-53
    }
}
