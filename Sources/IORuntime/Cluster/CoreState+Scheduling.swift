import DequeModule

// Scheduling: choosing workers for ready tasks and starting them with their inputs.
extension CoreState {
    // MARK: Scheduling

    /// Places as many ready tasks as resources allow.
    mutating func schedule(effects: inout Effects) {
        for key in Array(readyQueues.keys) {
            while let taskID = readyQueues[key]?.first {
                guard let task = tasks[taskID] else {
                    readyQueues[key]?.removeFirst()
                    continue
                }
                if let refusal = task.pinRefusal {
                    readyQueues[key]?.removeFirst()
                    tasks[taskID] = nil
                    failed += 1
                    fail(task.result, refusal, effects: &effects)
                    continue
                }
                if let worker = chooseWorker(for: task) {
                    readyQueues[key]?.removeFirst()
                    start(taskID, on: worker, effects: &effects)
                } else if let (worker, chain) = chooseChain(for: task, key: key) {
                    readyQueues[key]?.removeFirst()
                    start(taskID, on: worker, behind: chain, effects: &effects)
                } else {
                    break
                }
            }
            if readyQueues[key]?.isEmpty == true { readyQueues[key] = nil }
        }
    }

    /// Whether some worker could ever run a task with these needs.
    func isSatisfiable(_ options: TaskOptions) -> Bool {
        switch options.placement {
        case .bundle(let group, let index):
            guard let bundles = placementGroups[group], bundles.indices.contains(index) else { return false }
            return workers[safe: bundles[index].worker]?.isAlive == true && options.resources.fits(in: bundles[index].total)
        case .worker(let index, strict: true):
            return workers.indices.contains(index) && workers[index].isAlive && options.resources.fits(in: workers[index].total)
        default:
            return workers.contains { $0.isAlive && options.resources.fits(in: $0.total) }
        }
    }

    mutating func chooseWorker(for task: TaskRecord) -> Int? {
        chooseWorker(needs: task.options.resources, placement: task.options.placement, inputs: task.arguments.flatMap(\.objectIDs))
    }

    /// The worker for work needing `needs` under `placement`, preferring the one that made the
    /// largest of `inputs`, then the least loaded; `nil` when none has room now.
    mutating func chooseWorker(needs: ResourceSet, placement: Placement, inputs: [ObjectID]) -> Int? {
        switch placement {
        case .bundle(let group, let index):
            guard let bundle = placementGroups[group]?[safe: index], workers[safe: bundle.worker]?.isAlive == true else { return nil }
            return needs.fits(in: bundle.available) ? bundle.worker : nil
        case .worker(let index, let strict):
            if workers.indices.contains(index) && workers[index].isAlive && needs.fits(in: workers[index].total) {
                return needs.fits(in: workers[index].available) ? index : nil
            }
            if strict { return nil }
        case .spread:
            let candidates = workers.indices.filter { workers[$0].isAlive && needs.fits(in: workers[$0].available) }
            guard !candidates.isEmpty else { return nil }
            spreadCursor &+= 1
            let fewest = candidates.map { workers[$0].running }.min() ?? 0
            let least = candidates.filter { workers[$0].running == fewest }
            return least[spreadCursor % least.count]
        case .automatic:
            break
        }
        // Locality: the worker that made the largest input, when it has room.
        var largest: (size: Int, worker: Int)?
        for id in inputs {
            if let entry = objects[id], let location = entry.location, entry.byteCount > (largest?.size ?? 0) {
                largest = (entry.byteCount, location)
            }
        }
        if let preferred = largest?.worker, workers.indices.contains(preferred), workers[preferred].isAlive,
            needs.fits(in: workers[preferred].available)
        {
            return preferred
        }
        // Otherwise the least-loaded worker that fits.
        var best: Int?
        for index in workers.indices where workers[index].isAlive && needs.fits(in: workers[index].available) {
            if best == nil || workers[index].running < workers[best!].running { best = index }
        }
        return best
    }

    /// Sends task `taskID` to `worker`: to start now with resources taken here, or — `behind` one
    /// of the worker's chains — to start there when the last task of that chain ends.
    mutating func start(_ taskID: UInt64, on worker: Int, behind chain: Int? = nil, effects: inout Effects) {
        guard let index = tasks.index(forKey: taskID) else { return }
        let task = tasks.values[index]
        // A gathered argument is assembled here from its parts, so parts kept by worker
        // processes are pulled first; the task waits for them like for any input.
        let remoteParts = task.arguments.flatMap { slot -> [(ObjectID, RemoteCopy)] in
            guard case .gathered(let ids, _) = slot else { return [] }
            return ids.compactMap { id in
                if case .remote(let copy) = objects[id]?.state { return (id, copy) }
                return nil
            }
        }
        // Spilled inputs the task receives here are read back from disk first, outside the lock;
        // the task waits for them in the same way.
        let spilledInputs = task.arguments.flatMap { slot -> [ObjectID] in
            switch slot {
            case .value: return []
            case .object(let id): return needsRestoreToStart(id) ? [id] : []
            case .gathered(let ids, _): return ids.filter(needsRestoreToStart)
            }
        }
        if !remoteParts.isEmpty || !spilledInputs.isEmpty {
            tasks.values[index].phase = .waitingForInputs
            tasks.values[index].unresolved += remoteParts.count + spilledInputs.count
            for (id, copy) in remoteParts {
                objects[id]?.dependents.append(taskID)
                effects.fetches.append((id, copy))
            }
            for id in spilledInputs { awaitRestore(id, dependent: taskID, effects: &effects) }
            return
        }
        var arguments: [TaskInput] = []
        arguments.reserveCapacity(task.arguments.count)
        do {
            for slot in task.arguments {
                switch slot {
                case .value(let payload): arguments.append(.inline(payload))
                case .object(let id): arguments.append(try input(id).get())
                case .gathered(let ids, let assemble):
                    var parts: [Payload] = []
                    parts.reserveCapacity(ids.count)
                    for id in ids { parts.append(try readForTask(id).get()) }
                    arguments.append(.inline(.value(try assemble(parts))))
                }
            }
        } catch {
            // An input that cannot be read (restoring it from disk failed) fails the task.
            tasks[taskID] = nil
            failed += 1
            fail(task.result, error, effects: &effects)
            return
        }
        var predecessor: UInt64?
        if let chain {
            predecessor = workers[worker].chains[chain].tasks.last
            workers[worker].chains[chain].tasks.append(taskID)
            pipelined += 1
        } else {
            acquire(task.options.resources, placement: task.options.placement, worker: worker)
            workers[worker].running += 1
            running += 1
            if pipelineDepth > 0 {
                let key = ReadyQueueKey(resources: task.options.resources, placement: task.options.placement)
                workers[worker].chains.append(TaskChain(key: key, tasks: [taskID]))
            }
        }
        if let current = tasks.index(forKey: taskID) {
            if let predecessor {
                tasks.values[current].phase = .queued(worker: worker, after: predecessor)
            } else {
                tasks.values[current].phase = .running(worker: worker)
                tasks.values[current].startedAt = .now
            }
        }
        let assignment = TaskAssignment(
            taskID: taskID, attempt: task.attempt, functionName: task.function.name, signature: task.function.signature,
            arguments: arguments, timeout: task.options.timeout, resultID: task.result, after: predecessor,
            pinsResult: task.options.pinsResult)
        post(.execute(worker: worker, assignment), effects: &effects)
    }

    /// Whether a task given object `id` must wait for it to be read back from disk: a spilled
    /// object it receives inline. A large one that a worker process pulls is read back when the
    /// driver serves the pull.
    func needsRestoreToStart(_ id: ObjectID) -> Bool {
        guard case .spilled(let spilled) = objects[id]?.state else { return false }
        return !(isNetwork && spilled.byteCount > ObjectTransfer.inlineLimit)
    }

    /// How a starting task receives object `id`: inline, or — for a large object when workers
    /// are processes — as a reference the worker pulls.
    mutating func input(_ id: ObjectID) -> Result<TaskInput, any Error> {
        switch objects[id]?.state {
        case .remote(let copy):
            return .success(
                .reference(
                    ObjectReference(
                        id: id, holder: PeerID(UInt32(copy.worker + 1)), typeName: copy.typeName, byteCount: copy.byteCount)))
        case .spilled(let spilled) where isNetwork && spilled.byteCount > ObjectTransfer.inlineLimit:
            return .success(
                .reference(ObjectReference(id: id, holder: .driver, typeName: spilled.typeName, byteCount: spilled.byteCount)))
        default: break
        }
        return readForTask(id).map { payload in
            guard isNetwork, payload.byteCount > ObjectTransfer.inlineLimit else { return .inline(payload) }
            return .reference(
                ObjectReference(id: id, holder: .driver, typeName: payload.typeName, byteCount: payload.byteCount))
        }
    }

    /// An input's payload for a starting task (one spilled was read back before the task
    /// started: see `start`).
    mutating func readForTask(_ id: ObjectID) -> Result<Payload, any Error> {
        guard let entry = objects[id] else { return .failure(ClusterError.objectLost(id)) }
        switch entry.state {
        case .ready(let payload):
            let now = tick()
            objects[id]?.lastAccess = now
            return .success(payload)
        case .spilled:
            return .failure(ClusterError.spillFailed(object: id, reason: "a task was about to start before it was read back from disk"))
        case .failed(let error):
            return .failure(error)
        case .pending, .remote:
            return .failure(ClusterError.objectLost(id))
        }
    }
}
