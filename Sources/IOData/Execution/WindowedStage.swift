/// Runs `work` on the blocks it pulls from upstream, at most `window` blocks at once — running
/// or done and not yet taken — and hands out results in upstream order or as they finish.
///
/// The window is the stage's back-pressure: it pulls a new block only when one of its slots is
/// free, and a slot frees only when the consumer takes a result, so a slow consumer stops the
/// whole pipeline behind it instead of letting results pile up.
actor WindowedStage<Input: Sendable, Output: Sendable> {
    private let name: String
    private let upstream: BlockPull<Input>
    private let work: @Sendable ([Input]) async throws -> [Output]
    private let window: Int
    private let ordered: Bool
    private let run: DatasetRun
    private var started = 0
    private var nextIndex = 0
    private var running = 0
    private var done: [Int: Result<[Output], any Error>] = [:]
    private var upstreamEnded = false
    private var waiter: CheckedContinuation<Void, Never>?
    private var tasks: [Int: Task<Void, Never>] = [:]

    init(
        name: String, upstream: @escaping BlockPull<Input>, window: Int, ordered: Bool, run: DatasetRun,
        work: @escaping @Sendable ([Input]) async throws -> [Output]
    ) {
        self.name = name
        self.upstream = upstream
        self.work = work
        self.window = window
        self.ordered = ordered
        self.run = run
    }

    func next() async throws -> [Output]? {
        while true {
            while !upstreamEnded && running + done.count < window {
                guard let block = try await upstream() else {
                    upstreamEnded = true
                    break
                }
                start(block)
            }
            if let result = take() {
                run.inFlight(name, running + done.count)
                return try result.get()
            }
            if running == 0 && done.isEmpty { return nil }
            await withCheckedContinuation { waiter = $0 }
        }
    }

    /// Stops the work still running (a consumer that stopped early, as `limit` does).
    func cancel() {
        for task in tasks.values { task.cancel() }
    }

    private func start(_ block: [Input]) {
        let index = started
        started += 1
        running += 1
        run.inFlight(name, running + done.count)
        // The task belongs to this actor (it records the result here); `work` is nonisolated
        // and runs on the shared pool.
        tasks[index] = Task { [work] in
            let result: Result<[Output], any Error>
            do {
                result = .success(try await work(block))
            } catch {
                result = .failure(error)
            }
            self.finish(index, result)
        }
    }

    private func finish(_ index: Int, _ result: Result<[Output], any Error>) {
        tasks[index] = nil
        running -= 1
        done[index] = result
        waiter?.resume()
        waiter = nil
    }

    private func take() -> Result<[Output], any Error>? {
        if ordered {
            guard let result = done.removeValue(forKey: nextIndex) else { return nil }
            nextIndex += 1
            return result
        }
        guard let index = done.keys.min() else { return nil }
        return done.removeValue(forKey: index)
    }
}

/// Regroups upstream rows into blocks of exactly `size` rows (the last one may be shorter).
actor Rechunker<Element: Sendable> {
    private let upstream: BlockPull<Element>
    private let size: Int
    private var buffer: [Element] = []
    private var ended = false

    init(upstream: @escaping BlockPull<Element>, size: Int) {
        self.upstream = upstream
        self.size = size
    }

    func next() async throws -> [Element]? {
        while !ended && buffer.count < size {
            if let block = try await upstream() {
                buffer.append(contentsOf: block)
            } else {
                ended = true
            }
        }
        guard !buffer.isEmpty else { return nil }
        let count = min(size, buffer.count)
        let block = Array(buffer.prefix(count))
        buffer.removeFirst(count)
        return block
    }
}

/// Passes upstream blocks on until `limit` rows have gone by, then ends without pulling more.
actor RowLimit<Element: Sendable> {
    private let upstream: BlockPull<Element>
    private var left: Int

    init(upstream: @escaping BlockPull<Element>, limit: Int) {
        self.upstream = upstream
        left = limit
    }

    func next() async throws -> [Element]? {
        guard left > 0, let block = try await upstream() else { return nil }
        let kept = block.count <= left ? block : Array(block.prefix(left))
        left -= kept.count
        return kept
    }
}

/// Pulls blocks from a fixed, pre-computed list (sources that know their blocks up front).
actor BlockList<Element: Sendable> {
    private let make: @Sendable (Int) async throws -> [Element]?
    private var index = 0

    init(_ make: @escaping @Sendable (Int) async throws -> [Element]?) { self.make = make }

    func next() async throws -> [Element]? {
        guard let block = try await make(index) else { return nil }
        index += 1
        return block
    }
}
