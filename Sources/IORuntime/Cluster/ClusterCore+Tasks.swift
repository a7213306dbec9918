import Logging
import Synchronization

// Tasks: submitting, completing (with retries), and cancelling.
extension ClusterCore {
    // MARK: Submitting

    func submit(
        _ function: ErasedFunction, arguments: [TaskRecord.Slot], holding handles: [ObjectHandle], options: TaskOptions
    ) throws(ClusterError) -> ObjectHandle {
        drainReleases()
        guard options.resources.isValid, options.maxRetries >= 0 else {
            throw .unschedulable(task: function.name, reason: "resources must be finite and non-negative, retries at least 0")
        }
        let taskID = ids.nextSequence()
        let result = ids.nextObject()
        let flag = SettleFlag(pinned: options.pinsResult)
        let effects = try state.withLock { (state) throws(ClusterError) -> Effects in
            guard !state.isShutDown else { throw .shutDown }
            guard state.isSatisfiable(options) else {
                throw .unschedulable(
                    task: function.name,
                    reason: "no worker offers \(options.resources) (each offers \(configuration.resourcesPerWorker))")
            }
            var effects = Effects()
            state.objects[result] = ObjectEntry(state: .pending, handles: 1, producer: taskID, flag: flag)
            state.submitted += 1
            var task = TaskRecord(
                id: taskID, function: function, arguments: arguments, unresolved: 0, result: result,
                options: options, heldInputs: handles)
            var failedInput: (any Error)?
            for id in task.arguments.flatMap(\.objectIDs) {
                guard let entry = state.objects[id] else {
                    failedInput = ClusterError.objectLost(id)
                    break
                }
                switch entry.state {
                case .pending:
                    task.unresolved += 1
                    state.objects[id]?.dependents.append(taskID)
                case .failed(let error):
                    failedInput = error
                case .ready, .spilled, .remote:
                    break
                }
                if failedInput != nil { break }
            }
            if let failedInput {
                // Undo the dependent registrations made so far, then fail the result.
                for id in task.arguments.flatMap(\.objectIDs) { state.objects[id]?.dependents.removeAll { $0 == taskID } }
                state.failed += 1
                state.fail(result, failedInput, effects: &effects)
                return effects
            }
            state.tasks[taskID] = task
            if task.unresolved == 0 { state.makeReady(taskID) }
            state.schedule(effects: &effects)
            return effects
        }
        metrics.submitted.increment()
        perform(effects)
        return ObjectHandle(adopting: result, core: self, flag: flag)
    }

    // MARK: Completing

    /// Records the outcome of a task that worker `reporter` ran. A completion from any other
    /// worker than the one the task's current attempt was sent to is ignored (and logged): a
    /// worker cannot settle another's task.
    func complete(_ completion: TaskCompletion, from reporter: Int) {
        let ended = ContinuousClock.now
        var timelineEvent: TimelineEvent?
        var runningNow: Int?
        var store: (before: StoreSnapshot, after: StoreSnapshot)?
        let effects = state.withLock { state -> Effects in
            var effects = Effects()
            let before = state.storeSnapshot
            defer { store = (before, state.storeSnapshot) }
            guard let index = state.tasks.index(forKey: completion.taskID),
                state.tasks.values[index].attempt == completion.attempt,
                case .running(let worker) = state.tasks.values[index].phase
            else { return effects }
            guard worker == reporter else {
                logger.error(
                    "worker-\(reporter + 1) reported task \(completion.taskID), which runs on worker-\(worker + 1); the report was ignored")
                return effects
            }
            // Take the record out of the table (a move, not a copy); a retry puts it back.
            var task = state.tasks.remove(at: index).value
            // The task queued behind this one on its worker has started there: it takes over the
            // resources, which are given back only when no task was waiting for them.
            if !state.startSuccessor(of: task.id, on: worker, at: ended) && !task.lentResources {
                state.giveBack(task.options.resources, placement: task.options.placement, worker: worker)
            }
            state.workers[worker].running -= 1
            state.running -= 1
            runningNow = state.running
            if let started = task.startedAt {
                state.recordDuration(of: task.function.name, seconds: (ended - started).seconds)
                timelineEvent = TimelineEvent(
                    name: task.function.name, taskID: task.id, worker: worker, start: started, end: ended,
                    succeeded: { if case .success = completion.outcome { return true } else { return false } }())
            }
            var outcome = completion.outcome
            if task.cancelRequested { outcome = .cancelled }
            switch outcome {
            case .success(let payload):
                state.finished += 1
                state.seal(task.result, payload, location: worker, effects: &effects)
            case .stored(let typeName, let byteCount):
                state.finished += 1
                // A pinned object is not made again elsewhere: its data belongs to its worker.
                let lineage =
                    task.options.pinsResult
                    ? nil
                    : Lineage(function: task.function, arguments: task.arguments, options: task.options, heldInputs: task.heldInputs)
                state.sealRemote(
                    task.result, RemoteCopy(worker: worker, typeName: typeName, byteCount: byteCount), lineage: lineage,
                    effects: &effects)
            case .thrown(let error):
                logger.debug(
                    "task failed", metadata: ["task": "\(task.function.name)", "attempt": "\(task.attempt)", "error": "\(error.message)"])
                if task.options.retryOnThrownErrors && task.attempt < task.options.maxRetries {
                    task.attempt += 1
                    state.tasks[task.id] = task
                    state.makeReady(task.id)
                } else {
                    state.failed += 1
                    state.fail(task.result, error, effects: &effects)
                }
            case .timedOut:
                state.failed += 1
                let seconds = task.options.timeout.map { Double($0.components.seconds) + Double($0.components.attoseconds) * 1e-18 } ?? 0
                state.fail(task.result, ClusterError.timedOut(task: task.function.name, seconds: seconds), effects: &effects)
            case .cancelled:
                state.failed += 1
                state.fail(task.result, CancellationError(), effects: &effects)
            }
            state.schedule(effects: &effects)
            effects.spillCandidates = effects.spillCandidates && state.holdsMore(than: configuration.objectStoreMemory)
            return effects
        }
        if let timelineEvent {
            timeline.record(timelineEvent)
            metrics.record(timelineEvent)
        }
        if let store { metrics.observeStore(store.after, since: store.before) }
        if let runningNow { metrics.running.record(runningNow) }
        perform(effects)
        if effects.spillCandidates { spillOverCapacity() }
    }

    // MARK: Cancelling

    func cancel(_ id: ObjectID) {
        let effects = state.withLock { state -> Effects in
            var effects = Effects()
            guard let producer = state.objects[id]?.producer, var task = state.tasks[producer] else { return effects }
            switch task.phase {
            case .running(let worker), .queued(let worker, _):
                task.cancelRequested = true
                state.tasks[producer] = task
                state.post(.cancel(worker: worker, taskID: producer), effects: &effects)
            case .waitingForInputs, .waitingForResources:
                if case .waitingForResources = task.phase {
                    state.readyQueues[ReadyQueueKey(resources: task.options.resources, placement: task.options.placement)]?
                        .removeAll { $0 == producer }
                }
                for input in task.arguments.flatMap(\.objectIDs) { state.objects[input]?.dependents.removeAll { $0 == producer } }
                state.tasks[producer] = nil
                state.failed += 1
                state.fail(id, CancellationError(), effects: &effects)
            }
            return effects
        }
        perform(effects)
    }
}
