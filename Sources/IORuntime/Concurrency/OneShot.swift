import Synchronization

/// A result delivered once to one waiting task, which its task's cancellation frees.
///
/// Every place in the runtime that parks a caller (a `get` waiting for an object, an actor call
/// waiting for its reply, a collective waiting for a message, a sender waiting for a connection
/// to drain) parks it on a `OneShot` instead of a bare continuation, so that cancelling the
/// caller's task resumes it with `CancellationError` at once and nothing stays parked. The owner
/// keeps the `OneShot` in its own state and resumes it when the result is known; whichever of
/// the owner's resume and the cancellation comes first wins, and the other is a no-op.
///
/// ```swift
/// let reply = OneShot<Int>()
/// pending[callID] = reply                  // under the owner's lock
/// send(call)
/// let value = try await reply.value { pending.remove(callID) }   // CancellationError if cancelled
/// ```
///
/// A owner that hands out something that must not be lost (a slot, a lock, a message) checks
/// ``resume(with:)``'s result: `false` means the waiter was already cancelled and the value
/// goes to the next waiter instead.
package final class OneShot<Value: Sendable>: Sendable {
    private enum State {
        /// Nobody waits yet and no result is known.
        case empty
        /// A task waits.
        case waiting(CheckedContinuation<Value, any Error>)
        /// The result came before anyone waited.
        case resolved(Result<Value, any Error>)
        /// The result was handed to the waiter.
        case delivered
    }

    private let state = Mutex(State.empty)

    package init() {}

    /// Whether a result (or the cancellation) has been set.
    package var isResolved: Bool {
        state.withLock { state in
            if case .empty = state { return false }
            if case .waiting = state { return false }
            return true
        }
    }

    /// Sets the result, resuming the waiter if one is parked. Returns `false` when a result was
    /// set before (the waiter's cancellation, say), in which case `result` was not delivered.
    @discardableResult
    package func resume(with result: Result<Value, any Error>) -> Bool {
        let waiter = state.withLock { state -> (CheckedContinuation<Value, any Error>?, Bool) in
            switch state {
            case .empty:
                state = .resolved(result)
                return (nil, true)
            case .waiting(let continuation):
                state = .delivered
                return (continuation, true)
            case .resolved, .delivered:
                return (nil, false)
            }
        }
        waiter.0?.resume(with: result)
        return waiter.1
    }

    /// Sets the result to `value`; see ``resume(with:)``.
    @discardableResult
    package func resume(returning value: Value) -> Bool { resume(with: .success(value)) }

    /// Sets the result to `error`; see ``resume(with:)``.
    @discardableResult
    package func resume(throwing error: any Error) -> Bool { resume(with: .failure(error)) }

    /// Waits for the result. When the calling task is cancelled first, throws
    /// `CancellationError` and calls `onCancel` (at most once) so the owner can forget this
    /// waiter. Only one task may wait on a `OneShot`. Returns without suspending when the result
    /// is already set.
    package func value(onCancel: @escaping @Sendable () -> Void = {}) async throws -> Value {
        let settled = state.withLock { state -> Result<Value, any Error>? in
            guard case .resolved(let result) = state else { return nil }
            state = .delivered
            return result
        }
        if let settled { return try settled.get() }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Value, any Error>) in
                let ready = state.withLock { state -> Result<Value, any Error>? in
                    switch state {
                    case .empty:
                        state = .waiting(continuation)
                        return nil
                    case .resolved(let result):
                        state = .delivered
                        return result
                    case .waiting, .delivered:
                        preconditionFailure("a OneShot has a single waiter")
                    }
                }
                if let ready { continuation.resume(with: ready) }
            }
        } onCancel: {
            if resume(throwing: CancellationError()) { onCancel() }
        }
    }
}

extension OneShot where Value == Void {
    /// Sets an empty result; see ``resume(with:)``.
    @discardableResult
    package func resume() -> Bool { resume(with: .success(())) }
}
