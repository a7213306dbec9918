/// Calls every target at once and takes the answers that arrive before a deadline.
enum DeadlineGather {
    enum Event<Answer: Sendable>: Sendable {
        case answer(Int, Answer)
        case failure(Int, String)
        case deadline
    }

    /// The answers by index, the failures with their reasons, and the indices still outstanding
    /// at the deadline. The outstanding calls are cancelled; nothing waits for them, so a client
    /// that never answers (or a call that cannot be cancelled) cannot hold the round.
    static func gather<Target: Sendable, Answer: Sendable>(
        _ targets: [Target], deadline: Duration, _ call: @escaping @Sendable (Int, Target) async throws -> Answer
    ) async -> (answers: [Int: Answer], failures: [Int: String], late: [Int]) {
        guard !targets.isEmpty else { return ([:], [:], []) }
        let (stream, continuation) = AsyncStream.makeStream(of: Event<Answer>.self)
        let calls = targets.enumerated().map { index, target in
            Task {
                do {
                    continuation.yield(.answer(index, try await call(index, target)))
                } catch {
                    continuation.yield(.failure(index, "\(error)"))
                }
            }
        }
        let timer = Task {
            try? await Task.sleep(for: deadline)
            continuation.yield(.deadline)
        }
        var answers: [Int: Answer] = [:]
        var failures: [Int: String] = [:]
        var pending = Set(targets.indices)
        for await event in stream {
            switch event {
            case .answer(let index, let answer):
                answers[index] = answer
                pending.remove(index)
            case .failure(let index, let reason):
                failures[index] = reason
                pending.remove(index)
            case .deadline: ()
            }
            if pending.isEmpty { break }
            if case .deadline = event { break }
        }
        timer.cancel()
        continuation.finish()
        for index in pending { calls[index].cancel() }
        return (answers, failures, pending.sorted())
    }
}
