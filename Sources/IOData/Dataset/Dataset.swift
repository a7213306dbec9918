import IORuntime

/// A lazy, streaming collection of rows, split into blocks: built from arrays, files or a
/// generator, transformed lazily, and run only when it is consumed — iterated in batches,
/// collected, counted or written.
///
/// ```swift
/// let rows = Dataset.csv(files: ["digits.csv.gz"], headerLines: 0)      // Dataset<[Double]>
///     .filter { $0.last! < 5 }
///     .map { row in row.map(Float.init) }
/// for try await batch in rows.batches(size: 256) { … }                 // [[Float]], 256 rows each
/// ```
///
/// Nothing is read or computed until a consumer pulls: each stage pulls blocks from the one
/// before it only when it has room, so memory stays bounded by the blocks in flight — a few per
/// stage (see ``mapBatches(size:concurrency:preservingOrder:_:)``) — whatever the data's size.
///
/// Closures given to `map`, `filter`, `flatMap` and the local `mapBatches` run in this process:
/// Swift cannot send a closure to another process. Work that should run on the cluster goes
/// through a registered `RemoteFunction` or an `ActorPool` (see
/// ``mapBatches(size:function:on:maxInFlight:preservingOrder:options:)`` and
/// ``mapBatches(size:using:preservingOrder:_:)``), which work the same on every kind of cluster.
public struct Dataset<Element: Sendable>: Sendable {
    /// Makes a fresh pull of the dataset's blocks for one run.
    let makePull: @Sendable (DatasetRun) -> BlockPull<Element>
    /// How many rows the dataset has, when that is known without running it.
    public let knownCount: Int?

    init(knownCount: Int?, makePull: @escaping @Sendable (DatasetRun) -> BlockPull<Element>) {
        self.knownCount = knownCount
        self.makePull = makePull
    }

    /// A dataset whose blocks come from `pull`'s stages; its count is `knownCount`.
    func stage<Output>(
        knownCount: Int?, _ make: @escaping @Sendable (@escaping BlockPull<Element>, DatasetRun) -> BlockPull<Output>
    ) -> Dataset<Output> {
        let upstream = makePull
        return Dataset<Output>(knownCount: knownCount) { run in make(upstream(run), run) }
    }
}

/// Pulls the next block of a run (`nil` at the end). One consumer pulls at a time.
typealias BlockPull<Element> = @Sendable () async throws -> [Element]?

/// An error from a dataset's source, stages or writers.
public enum DataError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A parameter is out of range (a batch size of 0, a split into no parts).
    case invalidArgument(String)
    /// A file could not be read, listed or written.
    case file(path: String, reason: String)
    /// A line of a JSON-lines file could not be decoded.
    case invalidRecord(path: String, line: Int, reason: String)
    /// A row does not fit the shape its batch or output needs.
    case shapeMismatch(String)

    public var description: String {
        switch self {
        case .invalidArgument(let reason): "invalid argument: \(reason)"
        case .file(let path, let reason): "\(path): \(reason)"
        case .invalidRecord(let path, let line, let reason): "\(path), line \(line): \(reason)"
        case .shapeMismatch(let reason): "shape mismatch: \(reason)"
        }
    }
}
