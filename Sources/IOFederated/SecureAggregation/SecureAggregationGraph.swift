import Crypto
import Foundation

/// Who masks with whom in a round of secure aggregation. The complete graph is Bonawitz et al.'s
/// protocol: every pair of clients shares a mask, and each client Shamir-shares its secrets with
/// all the others — O(n²) key agreements in all. SecAgg+ (Bell et al. 2020) uses a sparse random
/// graph of degree k = O(log n) instead: each client masks with, and shares with, only its k
/// neighbours, and the masks still cancel in the sum.
///
/// The sparse graph here is a Harary graph over a random ring: the clients' numbers, shuffled by
/// a generator seeded from the round's label, are placed on a ring, and each is joined to the k/2
/// nearest on either side. Every client and the server compute the same graph from the roster
/// and the label, with no message.
public enum SecureAggregationGraph {
    /// Each client's neighbours among `clients` for a graph of degree `degree` (`nil`, or a degree
    /// of at least n − 1: the complete graph). An odd degree is rounded up.
    public static func neighbors(of clients: [Int], degree: Int?, round: String) -> [Int: Set<Int>] {
        let numbers = Array(Set(clients)).sorted()
        let count = numbers.count
        guard let degree, degree < count - 1 else {
            let all = Set(numbers)
            return Dictionary(uniqueKeysWithValues: numbers.map { ($0, all.subtracting([$0])) })
        }
        let half = Swift.max(1, (degree + 1) / 2)
        // A Fisher–Yates shuffle driven by SHA-256 of the label: the same ring on every machine.
        var ring = numbers
        var counter: UInt64 = 0
        for index in stride(from: count - 1, to: 0, by: -1) {
            let bound = UInt64(index + 1)
            var draw: UInt64
            repeat {
                let digest = SHA256.hash(data: Data("iocompute-secagg-graph|\(round)|\(counter)".utf8))
                counter += 1
                draw = digest.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
            } while draw >= UInt64.max - UInt64.max % bound  // no modulo bias
            ring.swapAt(index, Int(draw % bound))
        }
        var neighbors: [Int: Set<Int>] = [:]
        for (position, number) in ring.enumerated() {
            var mine: Set<Int> = []
            for step in 1...half {
                mine.insert(ring[(position + step) % count])
                mine.insert(ring[(position - step + count) % count])
            }
            neighbors[number] = mine
        }
        return neighbors
    }
}
