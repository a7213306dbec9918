import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// One execution of a dataset: what its stages had in flight, and how far it got.
final class DatasetRun: Sendable {
    private struct State {
        var rows = 0
        var blocks = 0
        var inFlight: [String: Int] = [:]
        var peakInFlight: [String: Int] = [:]
    }
    private let state = Mutex(State())
    let started = ContinuousClock.now
    let progress: DataProgress?

    init(progress: DataProgress?) { self.progress = progress }

    /// Records that `stage` now has `count` blocks in flight.
    func inFlight(_ stage: String, _ count: Int) {
        state.withLock { state in
            state.inFlight[stage] = count
            state.peakInFlight[stage] = max(state.peakInFlight[stage] ?? 0, count)
        }
    }

    /// Records a block of `rows` rows delivered to the consumer.
    func delivered(rows: Int) {
        let total = state.withLock { state -> Int in
            state.rows += rows
            state.blocks += 1
            return state.rows
        }
        progress?.update(rows: total, elapsed: ContinuousClock.now - started)
    }

    func statistics() -> DatasetStatistics {
        let elapsed = ContinuousClock.now - started
        let statistics = state.withLock { state in
            DatasetStatistics(
                rows: state.rows, blocks: state.blocks, seconds: elapsed.seconds, peakBlocksInFlight: state.peakInFlight,
                peakResidentBytes: DatasetStatistics.peakResidentBytes())
        }
        progress?.draw(rows: statistics.rows, elapsed: elapsed, end: "\n")
        return statistics
    }
}

/// What one run of a dataset did.
public struct DatasetStatistics: Sendable, CustomStringConvertible {
    /// Rows that reached the consumer.
    public let rows: Int
    /// Blocks (or batches) that reached the consumer.
    public let blocks: Int
    /// Wall time of the run.
    public let seconds: Double
    /// The most blocks each stage (by name) held in flight at once: the bound that keeps memory
    /// flat.
    public let peakBlocksInFlight: [String: Int]
    /// This process's peak resident memory (`VmHWM`) at the end of the run, in bytes; 0 where
    /// the system does not say.
    public let peakResidentBytes: Int

    /// Rows per second.
    public var rowsPerSecond: Double { seconds > 0 ? Double(rows) / seconds : 0 }

    public var description: String {
        let stages = peakBlocksInFlight.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        return "\(rows) rows in \(blocks) blocks, \(String(rowsPerSecond.rounded())) rows/s; peak blocks in flight: "
            + (stages.isEmpty ? "none" : stages) + "; peak resident memory \(peakResidentBytes >> 20) MiB"
    }

    /// The process's peak resident set size, from `/proc/self/status`.
    static func peakResidentBytes() -> Int {
        guard let file = fopen("/proc/self/status", "r") else { return 0 }
        defer { fclose(file) }
        var line = [CChar](repeating: 0, count: 256)
        while fgets(&line, Int32(line.count), file) != nil {
            let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            guard text.hasPrefix("VmHWM:") else { continue }
            let digits = text.filter(\.isNumber)
            return (Int(digits) ?? 0) * 1024
        }
        return 0
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) * 1e-18 }
}
