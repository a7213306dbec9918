import DequeModule
import IORuntime
import Synchronization

/// The messages one rank receives from one neighbour, in order, for a single consumer.
///
/// The transport's event loop (or the sending rank, in process) appends; the rank's collective
/// takes them one at a time, waiting when none is there (cancelling the taker's task ends the
/// wait with `CancellationError`). Once failed, every take throws.
final class MessageQueue: Sendable {
    private struct State {
        var messages = Deque<CollectiveMessage>()
        var waiter: OneShot<CollectiveMessage>?
        var failure: CollectiveError?
    }

    private let state = Mutex(State())

    /// Appends a message, or hands it to the waiting taker.
    func put(_ message: CollectiveMessage) {
        state.withLock { state in
            guard state.failure == nil else { return }
            // A taker that was cancelled does not get it: the message waits for the next take.
            if let waiter = state.waiter {
                state.waiter = nil
                if waiter.resume(returning: message) { return }
            }
            state.messages.append(message)
        }
    }

    /// Makes the waiting and every later take throw `error` (the first failure wins). Messages
    /// not taken yet are dropped, or, when `keepingQueued` (the sender left after sending them),
    /// still taken first.
    func fail(_ error: CollectiveError, keepingQueued: Bool = false) {
        let waiter = state.withLock { state -> OneShot<CollectiveMessage>? in
            if state.failure == nil { state.failure = error }
            if !keepingQueued { state.messages.removeAll() }
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(throwing: error)
    }

    /// The next message, waiting for it if needed.
    func take() async throws -> CollectiveMessage {
        enum Now { case message(CollectiveMessage), failure(CollectiveError), wait }
        let now = state.withLock { state -> Now in
            if let message = state.messages.popFirst() { return .message(message) }
            if let failure = state.failure { return .failure(failure) }
            return .wait
        }
        switch now {
        case .message(let message): return message
        case .failure(let error): throw error
        case .wait: break
        }
        let waiter = OneShot<CollectiveMessage>()
        let ready = state.withLock { state -> Result<CollectiveMessage, CollectiveError>? in
            if let message = state.messages.popFirst() { return .success(message) }
            if let failure = state.failure { return .failure(failure) }
            precondition(state.waiter == nil, "a message queue has a single taker")
            state.waiter = waiter
            return nil
        }
        if let ready { return try ready.get() }
        return try await waiter.value { [weak self] in
            self?.state.withLock { state in if state.waiter === waiter { state.waiter = nil } }
        }
    }
}
