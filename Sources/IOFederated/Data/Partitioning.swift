/// Ways to split one data set's rows among simulated clients, by index: the rows themselves stay
/// where they are, each client keeps only its own indices.
public enum Partitioning {
    /// Rows dealt to `parts` clients with a skewed label mix (non-IID): the rows of class c go to
    /// client i in proportion to ((i + c) mod parts) + 1, so each client sees every class in a
    /// different ratio — client 0 holds few of class 1 and many of the last class, and so on.
    /// Deterministic; every row goes to exactly one client.
    public static func labelSkewed(labels: [Int], parts: Int) -> [[Int]] {
        guard parts > 0 else { return [] }
        var result = [[Int]](repeating: [], count: parts)
        let classes = Set(labels).sorted()
        for label in classes {
            let rows = labels.indices.filter { labels[$0] == label }
            let weights = (0..<parts).map { Double(($0 + label) % parts + 1) }
            let total = weights.reduce(0, +)
            var start = 0
            var cumulative = 0.0
            for part in 0..<parts {
                cumulative += weights[part]
                let end = part == parts - 1 ? rows.count : Int((cumulative / total * Double(rows.count)).rounded())
                result[part] += rows[start..<max(start, end)]
                start = max(start, end)
            }
        }
        return result.map { $0.sorted() }
    }

    /// Rows dealt round-robin to `parts` clients (IID).
    public static func even(count: Int, parts: Int) -> [[Int]] {
        guard parts > 0 else { return [] }
        return (0..<parts).map { part in Array(stride(from: part, to: count, by: parts)) }
    }
}
