import Synchronization

/// The hand-over between a running trainable and the runner's caller: the trainable posts one
/// event and waits for its answer; the caller waits for the next event and answers it.
final class TrialChannel: Sendable {
    private struct State {
        var event: TrialEvent?
        var eventWaiter: CheckedContinuation<TrialEvent, Never>?
        var answerWaiter: CheckedContinuation<TrialAnswer, Never>?
        /// Told to stop: every later question is answered with `stop` at once.
        var stopped = false
    }

    private let state = Mutex(State())

    /// Posts `event` and waits for its answer (the trainable's side).
    func ask(_ event: TrialEvent) async -> TrialAnswer {
        await withCheckedContinuation { continuation in
            let (answer, waiter) = state.withLock { state -> (TrialAnswer?, CheckedContinuation<TrialEvent, Never>?) in
                if state.stopped { return (.stop, nil) }
                state.answerWaiter = continuation
                if let waiter = state.eventWaiter {
                    state.eventWaiter = nil
                    return (nil, waiter)
                }
                state.event = event
                return (nil, nil)
            }
            if let answer {
                continuation.resume(returning: answer)
            } else {
                waiter?.resume(returning: event)
            }
        }
    }

    /// Posts the trainable's last event, which has no answer.
    func finish(_ event: TrialEvent) {
        let waiter = state.withLock { state -> CheckedContinuation<TrialEvent, Never>? in
            state.stopped = true
            if let waiter = state.eventWaiter {
                state.eventWaiter = nil
                return waiter
            }
            state.event = event
            return nil
        }
        waiter?.resume(returning: event)
    }

    /// Answers the pending question (the caller's side) and waits for the next event.
    func answer(_ answer: TrialAnswer) async -> TrialEvent {
        respond(answer)
        return await nextEvent()
    }

    /// Answers the pending question, if any.
    func respond(_ answer: TrialAnswer) {
        let waiter = state.withLock { state -> CheckedContinuation<TrialAnswer, Never>? in
            if answer == .stop { state.stopped = true }
            defer { state.answerWaiter = nil }
            return state.answerWaiter
        }
        waiter?.resume(returning: answer)
    }

    /// The next event the trainable posts.
    func nextEvent() async -> TrialEvent {
        await withCheckedContinuation { continuation in
            let event = state.withLock { state -> TrialEvent? in
                if let event = state.event {
                    state.event = nil
                    return event
                }
                state.eventWaiter = continuation
                return nil
            }
            if let event { continuation.resume(returning: event) }
        }
    }
}
