/// Gathers requests into batches for a deployment's replicas: a batch leaves when it holds
/// ``DeploymentOptions/maxBatchSize`` requests, or ``DeploymentOptions/batchWait`` after its first
/// request arrived, whichever comes first. Requests beyond ``DeploymentOptions/maxQueuedRequests``
/// (waiting or in a batch being answered) are refused at once, so that a flood cannot fill memory.
actor RequestBatcher<Request: Sendable, Response: Sendable> {
    private let options: DeploymentOptions
    private let process: @Sendable ([Request]) async throws -> [Response]
    private let batchFormed: @Sendable (Int) -> Void
    private var pending: [(request: Request, reply: CheckedContinuation<Response, any Error>)] = []
    private var timer: Task<Void, Never>?
    private var generation = 0
    /// Requests accepted and not yet answered.
    private(set) var outstanding = 0
    private var draining = false
    private var drained: [CheckedContinuation<Void, Never>] = []

    init(
        options: DeploymentOptions, batchFormed: @escaping @Sendable (Int) -> Void,
        process: @escaping @Sendable ([Request]) async throws -> [Response]
    ) {
        self.options = options
        self.process = process
        self.batchFormed = batchFormed
    }

    /// The response to `request`, once its batch is answered.
    func submit(_ request: Request) async throws -> Response {
        guard !draining else { throw ServeError.draining }
        guard outstanding < options.maxQueuedRequests else { throw ServeError.overloaded(queued: outstanding) }
        outstanding += 1
        defer {
            outstanding -= 1
            if outstanding == 0 {
                for waiter in drained { waiter.resume() }
                drained = []
            }
        }
        return try await withCheckedThrowingContinuation { reply in
            pending.append((request, reply))
            if pending.count >= options.maxBatchSize {
                flush()
            } else if timer == nil {
                let due = generation
                timer = Task { [wait = options.batchWait] in
                    try? await Task.sleep(for: wait)
                    self.flush(ifGeneration: due)
                }
            }
        }
    }

    /// Refuses new requests from now on and returns once every accepted one is answered.
    func drain() async {
        draining = true
        flush()
        guard outstanding > 0 else { return }
        await withCheckedContinuation { drained.append($0) }
    }

    private func flush(ifGeneration due: Int) {
        if due == generation { flush() }
    }

    /// Sends the pending requests as one batch.
    private func flush() {
        timer?.cancel()
        timer = nil
        generation += 1
        guard !pending.isEmpty else { return }
        let batch = pending
        pending = []
        batchFormed(batch.count)
        Task { [process] in
            do {
                let responses = try await process(batch.map(\.request))
                guard responses.count == batch.count else {
                    throw ServeError.badBatch(requests: batch.count, responses: responses.count)
                }
                for (entry, response) in zip(batch, responses) { entry.reply.resume(returning: response) }
            } catch {
                for entry in batch { entry.reply.resume(throwing: error) }
            }
        }
    }
}
