import Foundation

/// A Rényi-differential-privacy accountant for the sampled Gaussian mechanism (Mironov 2017;
/// Mironov, Talwar and Zhang 2019): each round that adds Gaussian noise of `noiseMultiplier` × the
/// clipping norm to a sum over a fraction `sampleRate` of the clients adds its RDP at every
/// order α, and the total converts to (ε, δ).
///
/// It computes what Opacus's `RDPAccountant` computes — the same orders, the same conversion
/// (Balle et al. 2020's) — and its numbers are checked against Opacus's in the tests
/// (`Tests/IOFederatedTests/Fixtures/record_opacus_rdp.py`).
///
/// ```swift
/// var accountant = RDPAccountant()
/// for _ in 0..<rounds { accountant.record(noiseMultiplier: 1.1, sampleRate: 10.0 / 100) }
/// let (epsilon, order) = accountant.epsilon(delta: 1e-5)
/// ```
public struct RDPAccountant: Sendable, Equatable {
    /// Opacus's default orders: 1.1, 1.2, …, 10.9, then 12, 13, …, 63.
    public static let defaultOrders: [Double] = (1..<100).map { 1 + Double($0) / 10 } + (12..<64).map(Double.init)

    /// One kind of step: its noise, its sampling rate and how many times it ran.
    public struct Entry: Sendable, Equatable {
        public var noiseMultiplier: Double
        public var sampleRate: Double
        public var steps: Int

        public init(noiseMultiplier: Double, sampleRate: Double, steps: Int) {
            self.noiseMultiplier = noiseMultiplier
            self.sampleRate = sampleRate
            self.steps = steps
        }
    }

    public let orders: [Double]
    /// The steps recorded so far, runs of identical steps merged.
    public private(set) var history: [Entry] = []

    public init(orders: [Double] = RDPAccountant.defaultOrders) { self.orders = orders }

    /// Records `steps` rounds of the sampled Gaussian mechanism.
    public mutating func record(noiseMultiplier: Double, sampleRate: Double, steps: Int = 1) {
        if let last = history.last, last.noiseMultiplier == noiseMultiplier, last.sampleRate == sampleRate {
            history[history.count - 1].steps += steps
        } else {
            history.append(Entry(noiseMultiplier: noiseMultiplier, sampleRate: sampleRate, steps: steps))
        }
    }

    /// The total RDP at each of ``orders``.
    public var rdp: [Double] {
        orders.map { order in
            history.reduce(0) {
                $0 + Double($1.steps) * Self.rdp(sampleRate: $1.sampleRate, noiseMultiplier: $1.noiseMultiplier, order: order)
            }
        }
    }

    /// The smallest ε over the orders for which the rounds so far are (ε, δ)-DP, and the order
    /// that gives it; ε is 0 before any round and infinite without noise.
    public func epsilon(delta: Double) -> (epsilon: Double, order: Double) {
        guard !history.isEmpty else { return (0, orders.first ?? 0) }
        var best = (epsilon: Double.infinity, order: Double.nan)
        for (order, value) in zip(orders, rdp) {
            let epsilon = value - (Foundation.log(delta) + Foundation.log(order)) / (order - 1) + Foundation.log((order - 1) / order)
            if epsilon < best.epsilon { best = (epsilon, order) }
        }
        return best
    }

    // MARK: The sampled Gaussian mechanism's RDP

    /// RDP at `order` of one step that samples each record with probability `sampleRate` and adds
    /// Gaussian noise of `noiseMultiplier` × the sensitivity.
    public static func rdp(sampleRate q: Double, noiseMultiplier sigma: Double, order alpha: Double) -> Double {
        if q == 0 { return 0 }
        if sigma == 0 { return .infinity }
        if q == 1 { return alpha / (2 * sigma * sigma) }
        if alpha.isInfinite { return .infinity }
        let logA = alpha.rounded() == alpha ? logAIntegerOrder(q, sigma, Int(alpha)) : logAFractionalOrder(q, sigma, alpha)
        return logA / (alpha - 1)
    }

    /// log A_α for an integer α: a finite binomial sum.
    static func logAIntegerOrder(_ q: Double, _ sigma: Double, _ alpha: Int) -> Double {
        var logA = -Double.infinity
        for i in 0...alpha {
            let logCoefficient = logBinomial(Double(alpha), i) + Double(i) * log(q) + Double(alpha - i) * log(1 - q)
            logA = logAdd(logA, logCoefficient + Double(i * i - i) / (2 * sigma * sigma))
        }
        return logA
    }

    /// log A_α for a fractional α: two series summed until their terms fall below e⁻³⁰.
    static func logAFractionalOrder(_ q: Double, _ sigma: Double, _ alpha: Double) -> Double {
        var (logA0, logA1) = (-Double.infinity, -Double.infinity)
        let z0 = sigma * sigma * log(1 / q - 1) + 0.5
        var i = 0
        var (logCoefficient, sign) = (0.0, 1.0)  // log |binom(α, 0)| and its sign
        while true {
            let j = alpha - Double(i)
            let logT0 = logCoefficient + Double(i) * log(q) + j * log(1 - q)
            let logT1 = logCoefficient + j * log(q) + Double(i) * log(1 - q)
            let logE0 = log(0.5) + logErfc((Double(i) - z0) / (2.0.squareRoot() * sigma))
            let logE1 = log(0.5) + logErfc((z0 - j) / (2.0.squareRoot() * sigma))
            let logS0 = logT0 + (Double(i * i) - Double(i)) / (2 * sigma * sigma) + logE0
            let logS1 = logT1 + (j * j - j) / (2 * sigma * sigma) + logE1
            if sign > 0 {
                logA0 = logAdd(logA0, logS0)
                logA1 = logAdd(logA1, logS1)
            } else {
                logA0 = logSubtract(logA0, logS0)
                logA1 = logSubtract(logA1, logS1)
            }
            // binom(α, i + 1) = binom(α, i) · (α − i) / (i + 1)
            let factor = (alpha - Double(i)) / Double(i + 1)
            if factor < 0 { sign = -sign }
            logCoefficient += log(abs(factor))
            i += 1
            if max(logS0, logS1) < -30 { break }
        }
        return logAdd(logA0, logA1)
    }

    static func logBinomial(_ n: Double, _ k: Int) -> Double {
        lgamma(n + 1) - lgamma(Double(k) + 1) - lgamma(n - Double(k) + 1)
    }

    /// log(eˣ + eʸ) without overflow.
    static func logAdd(_ x: Double, _ y: Double) -> Double {
        let (a, b) = (min(x, y), max(x, y))
        if a == -.infinity { return b }
        return log1p(exp(a - b)) + b
    }

    /// log(eˣ − eʸ) for x ≥ y; −∞ when they are equal.
    static func logSubtract(_ x: Double, _ y: Double) -> Double {
        if y == -.infinity { return x }
        if x == y { return -.infinity }
        if x < y { return .nan }
        return log(expm1(x - y)) + y
    }

    /// log(erfc(x)), accurate where erfc underflows (an asymptotic series for large x).
    static func logErfc(_ x: Double) -> Double {
        if x < 20 { return log(erfc(x)) }
        let inverse = 1 / (x * x)
        // erfc(x) ≈ e^{−x²}/(x√π) · (1 − 1/(2x²) + 3/(4x⁴) − 15/(8x⁶))
        let series = 1 - inverse / 2 + 3 * inverse * inverse / 4 - 15 * inverse * inverse * inverse / 8
        return -x * x - log(x) - 0.5 * log(Double.pi) + log(series)
    }
}
