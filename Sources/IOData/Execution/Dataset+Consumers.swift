extension Dataset {
    /// The rows in batches of `size` (the last may be shorter), as they stream.
    ///
    /// - Parameters:
    ///   - size: the rows in each batch.
    ///   - progress: a label to draw a progress bar with on standard error.
    public func batches(size: Int, progress: DatasetProgress? = nil) -> DatasetBatches<Element> {
        DatasetBatches(dataset: repartition(blockSize: size), progress: progress)
    }

    /// Every row, in order.
    public func collect() async throws -> [Element] {
        var rows: [Element] = []
        for try await block in batches(size: 4096) { rows.append(contentsOf: block) }
        return rows
    }

    /// How many rows there are (the dataset runs unless its count is known).
    public func count() async throws -> Int {
        if let knownCount { return knownCount }
        var total = 0
        for try await block in batches(size: 4096) { total += block.count }
        return total
    }

    /// Runs the dataset to its end, calling `body` with each block in order, and says what the
    /// run did.
    @discardableResult
    public func forEachBlock(
        progress: DatasetProgress? = nil, _ body: ([Element]) async throws -> Void
    ) async throws -> DatasetStatistics {
        let run = DatasetRun(progress: progress.map { DataProgress(label: $0.label, total: $0.total ?? knownCount) })
        let pull = makePull(run)
        while let block = try await pull() {
            try await body(block)
            run.delivered(rows: block.count)
        }
        return run.statistics()
    }
}

/// The batches of a dataset as an `AsyncSequence`: `for try await batch in dataset.batches(size: 64)`.
public struct DatasetBatches<Row: Sendable>: AsyncSequence, Sendable {
    public typealias Element = [Row]
    let dataset: Dataset<Row>
    let progress: DatasetProgress?

    public struct AsyncIterator: AsyncIteratorProtocol {
        let pull: BlockPull<Row>
        let run: DatasetRun

        public mutating func next() async throws -> [Row]? {
            guard let block = try await pull() else {
                _ = run.statistics()
                return nil
            }
            run.delivered(rows: block.count)
            return block
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        let run = DatasetRun(progress: progress.map { DataProgress(label: $0.label, total: $0.total ?? dataset.knownCount) })
        return AsyncIterator(pull: dataset.makePull(run), run: run)
    }
}
