// Sending the core's messages to workers, in the order the core decided them.
extension ClusterCore {
    /// Sends the outbox's messages one at a time, in order. Only one thread sends at once: a
    /// thread that finds another sending leaves its messages to it, so a task always reaches
    /// its worker before a task queued behind it, and a cancellation after its task.
    func sendOutbox() {
        var next = state.withLock { state -> WorkerMessage? in
            guard !state.isSendingOutbox, let first = state.outbox.popFirst() else { return nil }
            state.isSendingOutbox = true
            return first
        }
        while let message = next {
            send(message)
            next = state.withLock { state in
                guard let following = state.outbox.popFirst() else {
                    state.isSendingOutbox = false
                    return nil
                }
                return following
            }
        }
    }

    private func send(_ message: WorkerMessage) {
        switch message {
        case .cancel(let worker, let taskID):
            router.send(.cancel(taskID: taskID), toWorker: worker)
        case .execute(let worker, let assignment):
            do {
                try router.trySend(.execute(assignment), toWorker: worker)
            } catch TransportError.unknownPeer(let peer) {
                // The worker's connection is gone: recovering from its loss retries the task.
                router.declareLost(peer, reason: "its connection is gone")
            } catch {
                // The assignment cannot be sent at all (larger than a frame, say): the task fails.
                failUnsent(assignment, worker: worker, error: error)
            }
        }
    }

    /// Fails a task whose assignment could not be sent to `worker`. A task that was to start at
    /// once ends as if the worker had reported the error; one that was queued leaves its chain,
    /// and the task queued behind it waits for its predecessor instead.
    private func failUnsent(_ assignment: TaskAssignment, worker: Int, error: any Error) {
        let error = TaskError(taskName: assignment.functionName, thrown: error)
        guard assignment.after != nil else {
            complete(
                TaskCompletion(taskID: assignment.taskID, attempt: assignment.attempt, worker: worker, outcome: .thrown(error)),
                from: worker)
            return
        }
        let effects = state.withLock { state -> Effects in
            var effects = Effects()
            guard let index = state.tasks.index(forKey: assignment.taskID), state.tasks.values[index].attempt == assignment.attempt,
                case .queued(let on, let predecessor) = state.tasks.values[index].phase, on == worker
            else { return effects }
            state.leaveChain(assignment.taskID, predecessor: predecessor, on: worker)
            let task = state.tasks.remove(at: index).value
            state.failed += 1
            state.fail(task.result, error, effects: &effects)
            state.schedule(effects: &effects)
            return effects
        }
        perform(effects)
    }
}

extension CoreState {
    /// Takes queued task `taskID` out of its chain on `worker`, before the worker has heard of
    /// it: the task behind it, here and in assignments not sent yet, waits for `predecessor`.
    mutating func leaveChain(_ taskID: UInt64, predecessor: UInt64, on worker: Int) {
        guard let chain = workers[worker].chains.firstIndex(where: { $0.tasks.contains(taskID) }),
            let position = workers[worker].chains[chain].tasks.firstIndex(of: taskID)
        else { return }
        workers[worker].chains[chain].tasks.remove(at: position)
        guard position < workers[worker].chains[chain].tasks.count else { return }
        let follower = workers[worker].chains[chain].tasks[position]
        if let index = tasks.index(forKey: follower), case .queued = tasks.values[index].phase {
            tasks.values[index].phase = .queued(worker: worker, after: predecessor)
        }
        for index in outbox.indices {
            if case .execute(let to, var assignment) = outbox[index], to == worker, assignment.taskID == follower {
                assignment.after = predecessor
                outbox[index] = .execute(worker: worker, assignment)
            }
        }
    }
}
