// Losing a worker: its tasks retried or failed, and objects only it held rebuilt from their lineage.
extension CoreState {
    /// Takes a lost worker out of service: its running tasks go back to the ready queues when they
    /// have retries left and fail with ``ClusterError/workerLost(worker:task:reason:)`` when not,
    /// and waiting tasks that no live worker could ever run fail too.
    mutating func loseWorker(
        _ worker: Int, reason: String, effects: inout Effects, nextTaskID: () -> UInt64
    ) {
        guard workers.indices.contains(worker), workers[worker].isAlive else { return }
        workers[worker].isAlive = false
        workers[worker].available = workers[worker].total
        running -= workers[worker].running
        workers[worker].running = 0
        workers[worker].chains = []
        reconstructObjects(lostWith: worker, reason: reason, effects: &effects, nextTaskID: nextTaskID)
        var failures: [(UInt64, any Error)] = []
        for taskID in Array(tasks.keys) {
            guard var task = tasks[taskID] else { continue }
            switch task.phase {
            case .running(let on) where on == worker, .queued(let on, _) where on == worker:
                if task.attempt < task.options.maxRetries && !task.cancelRequested {
                    task.attempt += 1
                    tasks[taskID] = task
                    makeReady(taskID)
                } else {
                    let error: any Error =
                        task.cancelRequested
                        ? CancellationError() : ClusterError.workerLost(worker: worker, task: task.function.name, reason: reason)
                    failures.append((taskID, error))
                }
            case .running, .queued:
                continue
            case .waitingForInputs, .waitingForResources:
                if !isSatisfiable(task.options) {
                    failures.append(
                        (
                            taskID,
                            ClusterError.unschedulable(
                                task: task.function.name, reason: "worker-\(worker + 1) was lost (\(reason)) and no live worker can run it")
                        ))
                }
            }
        }
        for (taskID, error) in failures {
            guard let task = tasks.removeValue(forKey: taskID) else { continue }
            removeFromReadyQueue(task)
            for input in task.arguments.flatMap(\.objectIDs) { objects[input]?.dependents.removeAll { $0 == taskID } }
            failed += 1
            fail(task.result, error, effects: &effects)
        }
        schedule(effects: &effects)
    }
}

extension CoreState {
    /// Objects whose only copy was in `worker`'s process are made again by their tasks (whose
    /// inputs their lineage kept alive); objects without lineage fail with
    /// ``ClusterError/objectLost(_:)``.
    mutating func reconstructObjects(
        lostWith worker: Int, reason: String, effects: inout Effects, nextTaskID: () -> UInt64
    ) {
        var rebuilt: [UInt64] = []
        var rebuiltObjects: Set<ObjectID> = []
        defer { lendResources(ofReadersOf: rebuiltObjects) }
        for id in Array(objects.keys) {
            guard var entry = objects[id] else { continue }
            if entry.location == worker { entry.location = nil }
            guard case .remote(let copy) = entry.state, copy.worker == worker else {
                objects[id] = entry
                continue
            }
            guard let lineage = entry.lineage else {
                objects[id] = entry
                let error =
                    entry.flag.isPinned
                    ? ClusterError.pinned(
                        object: id, worker: worker,
                        reason: "its worker was lost (\(reason)), and a pinned object is not made again elsewhere")
                    : ClusterError.objectLost(id)
                fail(id, error, effects: &effects)
                continue
            }
            let taskID = nextTaskID()
            rebuiltObjects.insert(id)
            entry.state = .pending
            entry.producer = taskID
            entry.lineage = nil
            objects[id] = entry
            tasks[taskID] = TaskRecord(
                id: taskID, function: lineage.function, arguments: lineage.arguments, unresolved: 0, result: id,
                options: lineage.options, heldInputs: lineage.heldInputs)
            submitted += 1
            rebuilt.append(taskID)
        }
        // Inputs may be among the objects being rebuilt: count them once all are pending.
        for taskID in rebuilt {
            guard var task = tasks[taskID] else { continue }
            var failure: (any Error)?
            for input in task.arguments.flatMap(\.objectIDs) {
                switch objects[input]?.state {
                case .pending?:
                    task.unresolved += 1
                    objects[input]?.dependents.append(taskID)
                case .failed(let error)?: failure = error
                case nil: failure = ClusterError.objectLost(input)
                default: break
                }
            }
            if let failure {
                tasks[taskID] = nil
                for input in task.arguments.flatMap(\.objectIDs) { objects[input]?.dependents.removeAll { $0 == taskID } }
                failed += 1
                fail(task.result, failure, effects: &effects)
                continue
            }
            tasks[taskID] = task
            if task.unresolved == 0 { makeReady(taskID) }
        }
    }
}

extension CoreState {
    /// Gives back to the pool the resources of tasks running on live workers that take one of
    /// `objects` — being made again after their holder was lost — as an argument. Such a task
    /// waits in its pull until the object is made again, and the rebuild may need the very
    /// resources it holds (two workers, one lost: the other's only CPU). Ray lends the CPU of a
    /// worker blocked in `get` the same way. A task that already had its input computes on,
    /// briefly beside the rebuild. A task heading a chain of queued tasks keeps its resources: the
    /// chain hands them on.
    mutating func lendResources(ofReadersOf objects: Set<ObjectID>) {
        guard !objects.isEmpty else { return }
        for taskID in Array(tasks.keys) {
            guard var task = tasks[taskID], !task.lentResources, case .running(let worker) = task.phase,
                workers[safe: worker]?.isAlive == true
            else { continue }
            let reads = task.arguments.contains { slot in
                if case .object(let id) = slot { return objects.contains(id) }
                return false
            }
            guard reads else { continue }
            if let chain = workers[worker].chains.firstIndex(where: { $0.tasks.first == taskID }) {
                guard workers[worker].chains[chain].tasks.count == 1 else { continue }
                // Nothing may queue behind a task whose resources are lent.
                workers[worker].chains.remove(at: chain)
            }
            giveBack(task.options.resources, placement: task.options.placement, worker: worker)
            task.lentResources = true
            tasks[taskID] = task
        }
    }
}
