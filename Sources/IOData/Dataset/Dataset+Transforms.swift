import IOTensor

extension Dataset {
    /// Each row transformed by `transform`, in this process, block by block as they are pulled.
    public func map<Output: Sendable>(_ transform: @escaping @Sendable (Element) throws -> Output) -> Dataset<Output> {
        stage(knownCount: knownCount) { upstream, _ in
            { try await upstream()?.map(transform) }
        }
    }

    /// The rows for which `isIncluded` is true, in order.
    public func filter(_ isIncluded: @escaping @Sendable (Element) throws -> Bool) -> Dataset {
        stage(knownCount: nil) { upstream, _ in
            {
                // A block filtered to nothing is skipped, so consumers never see empty blocks.
                while let block = try await upstream() {
                    let kept = try block.filter(isIncluded)
                    if !kept.isEmpty { return kept }
                }
                return nil
            }
        }
    }

    /// The rows of the sequences `transform` makes from each row, in order.
    public func flatMap<Output: Sendable>(_ transform: @escaping @Sendable (Element) throws -> [Output]) -> Dataset<Output> {
        stage(knownCount: nil) { upstream, _ in
            {
                while let block = try await upstream() {
                    let made = try block.flatMap(transform)
                    if !made.isEmpty { return made }
                }
                return nil
            }
        }
    }

    /// Batches of `size` rows (the last may be shorter) transformed by `transform` in this
    /// process, up to `concurrency` batches at once.
    ///
    /// - Parameters:
    ///   - size: the rows in each batch.
    ///   - concurrency: how many batches are transformed at once.
    ///   - preservingOrder: whether results come out in the order of their batches (the
    ///     default), or as they finish.
    ///   - transform: makes a batch's output rows from its rows.
    public func mapBatches<Output: Sendable>(
        size: Int, concurrency: Int = 1, preservingOrder: Bool = true,
        _ transform: @escaping @Sendable ([Element]) async throws -> [Output]
    ) -> Dataset<Output> {
        windowed(
            name: "mapBatches", size: size, window: concurrency, preservingOrder: preservingOrder, knownCount: nil, work: transform)
    }

    /// The first `count` rows; the stages before it stop being pulled once they have gone by.
    public func limit(_ count: Int) -> Dataset {
        stage(knownCount: knownCount.map { Swift.min($0, Swift.max(count, 0)) } ?? nil) { upstream, _ in
            let limit = RowLimit(upstream: upstream, limit: Swift.max(count, 0))
            return { try await limit.next() }
        }
    }

    /// The same rows regrouped in blocks of `blockSize` (the last may be shorter), as they stream.
    public func repartition(blockSize: Int) -> Dataset {
        stage(knownCount: knownCount) { upstream, _ in
            let chunker = Rechunker(upstream: upstream, size: Swift.max(blockSize, 1))
            return { try await chunker.next() }
        }
    }

    /// Every row in a random order that `seed` fixes: the same seed gives the same order.
    ///
    /// A full shuffle needs every row before the first can be handed out, so this stage holds
    /// the whole dataset in memory when it runs; the stages before and after it still stream.
    public func shuffle(seed: UInt64, blockSize: Int = 1024) -> Dataset {
        stage(knownCount: knownCount) { upstream, _ in
            let shuffled = ShuffledBlocks(upstream: upstream, seed: seed, blockSize: Swift.max(blockSize, 1))
            return { try await shuffled.next() }
        }
    }

    /// The rows cut into `count` contiguous parts of sizes that differ by at most one, for as many
    /// training workers: every row is in exactly one part, in order.
    ///
    /// The dataset runs once, here, to learn its rows; each part is then an in-memory dataset.
    public func split(_ count: Int, blockSize: Int = 1024) async throws -> [Dataset] {
        guard count >= 1 else { throw DataError.invalidArgument("split needs at least one part, not \(count)") }
        let rows = try await collect()
        let base = rows.count / count
        let extra = rows.count % count
        var parts: [Dataset] = []
        var start = 0
        for part in 0..<count {
            let length = base + (part < extra ? 1 : 0)
            parts.append(Dataset(Array(rows[start..<(start + length)]), blockSize: blockSize))
            start += length
        }
        return parts
    }

    /// A stage that regroups rows into batches of `size` and runs `work` on up to `window` of them
    /// at once.
    func windowed<Output: Sendable>(
        name: String, size: Int, window: Int, preservingOrder: Bool, knownCount: Int?,
        work: @escaping @Sendable ([Element]) async throws -> [Output]
    ) -> Dataset<Output> {
        let size = Swift.max(size, 1)
        let window = Swift.max(window, 1)
        return stage(knownCount: knownCount) { upstream, run in
            let chunker = Rechunker(upstream: upstream, size: size)
            let stage = WindowedStage(
                name: name, upstream: { try await chunker.next() }, window: window, ordered: preservingOrder, run: run, work: work)
            return { try await stage.next() }
        }
    }
}

/// Collects every upstream row, shuffles them with a seeded generator, and hands them out in
/// blocks.
actor ShuffledBlocks<Element: Sendable> {
    private let upstream: BlockPull<Element>
    private let seed: UInt64
    private let blockSize: Int
    private var rows: ArraySlice<Element>?

    init(upstream: @escaping BlockPull<Element>, seed: UInt64, blockSize: Int) {
        self.upstream = upstream
        self.seed = seed
        self.blockSize = blockSize
    }

    func next() async throws -> [Element]? {
        if rows == nil {
            var all: [Element] = []
            while let block = try await upstream() { all.append(contentsOf: block) }
            var generator = SplitMix64(seed: seed)
            all.shuffle(using: &generator)
            rows = all[...]
        }
        guard let left = rows, !left.isEmpty else { return nil }
        let block = Array(left.prefix(blockSize))
        rows = left.dropFirst(block.count)
        return block
    }
}
