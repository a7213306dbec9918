// What the `compare` programs share: timing, selecting workloads, and the `NAME VALUE UNIT`
// line format the `compare` script reads.
import Foundation

/// Keeps `value` alive so that the optimizer cannot drop the work that made it.
@inline(never) public func keep<T>(_ value: T) { withExtendedLifetime(value) {} }

/// Prints one result line: `NAME VALUE UNIT`, VALUE a throughput (higher is better).
public func report(_ name: String, _ value: Double, _ unit: String) {
    print("\(name) \(String(format: "%.4g", value)) \(unit)")
    fflush(nil)
}

/// The best (smallest) of `rounds` timings of `body`, in seconds, after one warm-up. Runs on
/// the caller's executor (the main actor's, for the `@main` rows).
nonisolated(nonsending) public func bestSeconds(rounds: Int = 5, _ body: () async throws -> Void) async rethrows -> Double {
    try await body()
    var best = Double.infinity
    for _ in 0..<rounds {
        let start = DispatchTime.now().uptimeNanoseconds
        try await body()
        best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }
    return best
}

/// Whether the command line selects workload `name` (no names select every workload; options
/// starting with `--` are not names).
public func wanted(_ name: String) -> Bool {
    let selected = Set(CommandLine.arguments.dropFirst().filter { !$0.hasPrefix("--") })
    return selected.isEmpty || selected.contains(name)
}

/// Who calls the runtime: `main` (the main actor, as a `@main` program or top-level code does)
/// and `detached` (a task off the main actor, as a server's handlers do). Both by default;
/// `--caller=main` or `--caller=detached` picks one.
public func callers() -> [String] {
    let chosen = CommandLine.arguments.filter { $0.hasPrefix("--caller=") }.map { String($0.dropFirst("--caller=".count)) }
    return chosen.isEmpty ? ["main", "detached"] : chosen
}

/// The suffix of a row measured from `caller`: `@main` from the main actor, none off it (the
/// peer's figure for both is its row without the suffix).
public func rowSuffix(_ caller: String) -> String { caller == "main" ? "@main" : "" }

extension Sequence {
    public func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var results: [T] = []
        for element in self { results.append(try await transform(element)) }
        return results
    }
}
