import IORuntime
import Synchronization

/// An asynchronous lock: one holder at a time, waiters in arrival order. A waiter whose task is
/// cancelled leaves the line with `CancellationError`; the lock then passes over it.
final class SerialGate: Sendable {
    private struct State {
        var held = false
        var waiters: [OneShot<Void>] = []
    }

    private let state = Mutex(State())

    func enter() async throws {
        let waiter = OneShot<Void>()
        let now = state.withLock { state -> Bool in
            if !state.held {
                state.held = true
                return true
            }
            state.waiters.append(waiter)
            return false
        }
        if now { return }
        try await waiter.value()
    }

    func leave() {
        state.withLock { state in
            while !state.waiters.isEmpty {
                if state.waiters.removeFirst().resume() { return }
            }
            state.held = false
        }
    }
}
