import DequeModule
import Logging

/// Work to do once the core's lock is released: deliver messages and resume waiters.
struct Effects {
    var dispatches: [(worker: Int, assignment: TaskAssignment)] = []
    var cancellations: [(worker: Int, taskID: UInt64)] = []
    var resumptions: [(ObjectWaiter, Result<Payload, any Error>)] = []
    var spillCandidates = false
    /// Objects in worker processes the driver must pull before a task can start.
    var fetches: [(id: ObjectID, copy: RemoteCopy)] = []
}

/// The owner's whole view of the cluster, guarded by `ClusterCore`'s lock. Every transition
/// (submit, complete, release, cancel) is a method here that returns the `Effects` to perform
/// outside the lock.
struct CoreState {
    var objects: [ObjectID: ObjectEntry] = [:]
    var tasks: [UInt64: TaskRecord] = [:]
    var readyQueues: [ReadyQueueKey: Deque<UInt64>] = [:]
    var workers: [WorkerSlot]
    var isShutDown = false
    var accessClock: UInt64 = 0
    var bytesInMemory = 0
    var bytesSpilled = 0
    var spilledObjects = 0
    var totalSpills = 0
    var totalRestores = 0
    var submitted = 0
    var finished = 0
    var failed = 0
    var spreadCursor = 0
    var placementGroups: [UInt64: [BundleSlot]] = [:]
    /// Tasks running now.
    var running = 0
    let routesThroughCodec: Bool
    /// Whether workers are processes (large objects then travel by reference and are pulled).
    let isNetwork: Bool

    init(workers: [WorkerSlot], routesThroughCodec: Bool, isNetwork: Bool = false) {
        self.workers = workers
        self.routesThroughCodec = routesThroughCodec
        self.isNetwork = isNetwork
    }

    var storeSnapshot: StoreSnapshot {
        StoreSnapshot(bytesInMemory: bytesInMemory, bytesSpilled: bytesSpilled, totalSpills: totalSpills, totalRestores: totalRestores)
    }

    mutating func tick() -> UInt64 {
        accessClock &+= 1
        return accessClock
    }

    // MARK: Sealing and failing objects

    /// Seals `id` with `payload` and wakes whoever waits for it.
    mutating func seal(_ id: ObjectID, _ payload: Payload, location: Int?, effects: inout Effects) {
        // In place through the values view: one hash lookup and no copy of the entry.
        guard let index = objects.index(forKey: id) else { return }
        let now = tick()
        let byteCount = payload.byteCount
        let (waiters, dependents): ([ObjectWaiter], [UInt64]) = {
            defer {
                objects.values[index].waiters = []
                objects.values[index].dependents = []
            }
            return (objects.values[index].waiters, objects.values[index].dependents)
        }()
        objects.values[index].state = .ready(payload)
        objects.values[index].byteCount = byteCount
        objects.values[index].lastAccess = now
        objects.values[index].location = location
        objects.values[index].producer = nil
        bytesInMemory += byteCount
        for waiter in waiters { effects.resumptions.append((waiter, .success(payload))) }
        for dependent in dependents { inputBecameReady(dependent) }
        effects.spillCandidates = true
    }

    /// Seals `id` as kept by `worker`'s process; readers pull it from there.
    mutating func sealRemote(_ id: ObjectID, _ copy: RemoteCopy, lineage: Lineage?, effects: inout Effects) {
        guard let index = objects.index(forKey: id) else { return }
        let waiters = objects.values[index].waiters
        let dependents = objects.values[index].dependents
        objects.values[index].waiters = []
        objects.values[index].dependents = []
        objects.values[index].state = .remote(copy)
        objects.values[index].byteCount = 0
        objects.values[index].lastAccess = tick()
        objects.values[index].location = copy.worker
        objects.values[index].producer = nil
        objects.values[index].lineage = lineage
        for waiter in waiters { effects.resumptions.append((waiter, .failure(ObjectSealedElsewhere()))) }
        for dependent in dependents { inputBecameReady(dependent) }
    }

    /// Keeps a pulled copy of a remote object in memory; tasks waiting for the pull may start.
    mutating func adoptPulled(_ id: ObjectID, _ payload: Payload, effects: inout Effects, spill: SpillStore) {
        guard let index = objects.index(forKey: id), case .remote = objects.values[index].state else { return }
        let dependents = objects.values[index].dependents
        objects.values[index].dependents = []
        objects.values[index].state = .ready(payload)
        objects.values[index].byteCount = payload.byteCount
        objects.values[index].lastAccess = tick()
        bytesInMemory += payload.byteCount
        for dependent in dependents { inputBecameReady(dependent) }
        effects.spillCandidates = true
        schedule(effects: &effects, spill: spill)
    }

    /// Fails `id` with `error`, and every task waiting on it, transitively.
    mutating func fail(_ id: ObjectID, _ error: any Error, effects: inout Effects) {
        var worklist = [id]
        while let next = worklist.popLast() {
            guard var entry = objects[next] else { continue }
            if case .failed = entry.state { continue }
            entry.state = .failed(error)
            entry.producer = nil
            let waiters = entry.waiters
            let dependents = entry.dependents
            entry.waiters = []
            entry.dependents = []
            objects[next] = entry
            for waiter in waiters { effects.resumptions.append((waiter, .failure(error))) }
            for dependent in dependents {
                guard let task = tasks.removeValue(forKey: dependent) else { continue }
                removeFromReadyQueue(task)
                failed += 1
                worklist.append(task.result)
            }
        }
    }

    private mutating func inputBecameReady(_ taskID: UInt64) {
        guard let index = tasks.index(forKey: taskID) else { return }
        tasks.values[index].unresolved -= 1
        if tasks.values[index].unresolved == 0 {
            tasks.values[index].phase = .waitingForResources
            let options = tasks.values[index].options
            readyQueues[ReadyQueueKey(resources: options.resources, placement: options.placement), default: []].append(taskID)
        }
    }

    private mutating func removeFromReadyQueue(_ task: TaskRecord) {
        guard case .waitingForResources = task.phase else { return }
        let key = ReadyQueueKey(resources: task.options.resources, placement: task.options.placement)
        readyQueues[key]?.removeAll { $0 == task.id }
    }

    // MARK: Scheduling

    /// Places as many ready tasks as resources allow.
    mutating func schedule(effects: inout Effects, spill: SpillStore) {
        for key in Array(readyQueues.keys) {
            while let taskID = readyQueues[key]?.first {
                guard let task = tasks[taskID] else {
                    readyQueues[key]?.removeFirst()
                    continue
                }
                guard let worker = chooseWorker(for: task) else { break }
                readyQueues[key]?.removeFirst()
                start(taskID, on: worker, effects: &effects, spill: spill)
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

    private mutating func chooseWorker(for task: TaskRecord) -> Int? {
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

    private mutating func start(_ taskID: UInt64, on worker: Int, effects: inout Effects, spill: SpillStore) {
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
        if !remoteParts.isEmpty {
            tasks.values[index].phase = .waitingForInputs
            tasks.values[index].unresolved += remoteParts.count
            for (id, copy) in remoteParts {
                objects[id]?.dependents.append(taskID)
                effects.fetches.append((id, copy))
            }
            return
        }
        var arguments: [TaskInput] = []
        arguments.reserveCapacity(task.arguments.count)
        do {
            for slot in task.arguments {
                switch slot {
                case .value(let payload): arguments.append(.inline(payload))
                case .object(let id): arguments.append(try input(id, spill: spill).get())
                case .gathered(let ids, let assemble):
                    var parts: [Payload] = []
                    parts.reserveCapacity(ids.count)
                    for id in ids { parts.append(try readForTask(id, spill: spill).get()) }
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
        acquire(task.options.resources, placement: task.options.placement, worker: worker)
        workers[worker].running += 1
        running += 1
        if let current = tasks.index(forKey: taskID) {
            tasks.values[current].phase = .running(worker: worker)
            tasks.values[current].startedAt = .now
        }
        effects.dispatches.append(
            (
                worker,
                TaskAssignment(
                    taskID: taskID, attempt: task.attempt, functionName: task.function.name,
                    signature: task.function.signature, arguments: arguments, timeout: task.options.timeout, resultID: task.result)
            ))
    }

    /// How a starting task receives object `id`: inline, or — for a large object when workers
    /// are processes — as a reference the worker pulls.
    private mutating func input(_ id: ObjectID, spill: SpillStore) -> Result<TaskInput, any Error> {
        if case .remote(let copy) = objects[id]?.state {
            return .success(
                .reference(
                    ObjectReference(
                        id: id, holder: PeerID(UInt32(copy.worker + 1)), typeName: copy.typeName, byteCount: copy.byteCount)))
        }
        return readForTask(id, spill: spill).map { payload in
            guard isNetwork, payload.byteCount > ObjectTransfer.inlineLimit else { return .inline(payload) }
            return .reference(
                ObjectReference(id: id, holder: .driver, typeName: payload.typeName, byteCount: payload.byteCount))
        }
    }

    /// An input's payload for a starting task, restoring it from disk if it was spilled.
    private mutating func readForTask(_ id: ObjectID, spill: SpillStore) -> Result<Payload, any Error> {
        guard let entry = objects[id] else { return .failure(ClusterError.objectLost(id)) }
        switch entry.state {
        case .ready(let payload):
            let now = tick()
            objects[id]?.lastAccess = now
            return .success(payload)
        case .spilled:
            return restore(id, spill: spill)
        case .failed(let error):
            return .failure(error)
        case .pending, .remote:
            return .failure(ClusterError.objectLost(id))
        }
    }

    // MARK: Object memory

    /// Reads a spilled object back into memory.
    mutating func restore(_ id: ObjectID, spill: SpillStore) -> Result<Payload, any Error> {
        guard var entry = objects[id], case .spilled(let spilled) = entry.state else {
            return .failure(ClusterError.objectLost(id))
        }
        do {
            let payload = try spill.restore(id, spilled)
            bytesSpilled -= spilled.byteCount
            spilledObjects -= 1
            totalRestores += 1
            entry.state = .ready(payload)
            entry.byteCount = payload.byteCount
            entry.lastAccess = tick()
            bytesInMemory += entry.byteCount
            objects[id] = entry
            return .success(payload)
        } catch {
            return .failure(error)
        }
    }

    /// Spills least recently used objects until memory use is under `capacity`.
    mutating func enforce(capacity: Int, spill: SpillStore) {
        while bytesInMemory > capacity {
            var victim: (id: ObjectID, access: UInt64)?
            for (id, entry) in objects {
                guard case .ready = entry.state, entry.byteCount > 0 else { continue }
                if victim == nil || entry.lastAccess < victim!.access { victim = (id, entry.lastAccess) }
            }
            guard let victim, var entry = objects[victim.id], case .ready(let payload) = entry.state else { return }
            do {
                let spilled = try spill.write(victim.id, payload)
                bytesInMemory -= entry.byteCount
                bytesSpilled += spilled.byteCount
                spilledObjects += 1
                totalSpills += 1
                entry.state = .spilled(spilled)
                entry.byteCount = 0
                objects[victim.id] = entry
            } catch {
                // The disk refused: keep the object in memory rather than lose it.
                Logger(label: "iocompute.objectstore").warning("could not spill \(victim.id): \(error); keeping it in memory")
                return
            }
        }
    }

    /// Drops one handle of `id`; the object goes when none is left. Returns the worker process
    /// to tell when it held the object.
    @discardableResult
    mutating func release(_ id: ObjectID, spill: SpillStore) -> Int? {
        guard var entry = objects[id] else { return nil }
        entry.handles -= 1
        if entry.handles > 0 {
            objects[id] = entry
            return nil
        }
        objects[id] = nil
        switch entry.state {
        case .remote(let copy): return copy.worker
        case .ready:
            bytesInMemory -= entry.byteCount
            // A copy pulled from a worker process is still there.
            if isNetwork, let location = entry.location, entry.byteCount > ObjectTransfer.inlineLimit { return location }
        case .spilled(let spilled):
            bytesSpilled -= spilled.byteCount
            spilledObjects -= 1
            spill.remove(spilled)
            if isNetwork, let location = entry.location, spilled.byteCount > ObjectTransfer.inlineLimit { return location }
        case .pending, .failed: break
        }
        return nil
    }
}

// MARK: - Losing a worker

extension CoreState {
    /// Takes a lost worker out of service: its running tasks go back to the ready queues when they
    /// have retries left and fail with ``ClusterError/workerLost(worker:task:reason:)`` when not,
    /// and waiting tasks that no live worker could ever run fail too.
    mutating func loseWorker(
        _ worker: Int, reason: String, effects: inout Effects, spill: SpillStore, nextTaskID: () -> UInt64
    ) {
        guard workers.indices.contains(worker), workers[worker].isAlive else { return }
        workers[worker].isAlive = false
        workers[worker].available = workers[worker].total
        running -= workers[worker].running
        workers[worker].running = 0
        reconstructObjects(lostWith: worker, reason: reason, effects: &effects, nextTaskID: nextTaskID)
        var failures: [(UInt64, any Error)] = []
        for taskID in Array(tasks.keys) {
            guard var task = tasks[taskID] else { continue }
            switch task.phase {
            case .running(let on) where on == worker:
                if task.attempt < task.options.maxRetries && !task.cancelRequested {
                    task.attempt += 1
                    task.phase = .waitingForResources
                    tasks[taskID] = task
                    readyQueues[ReadyQueueKey(resources: task.options.resources, placement: task.options.placement), default: []]
                        .append(taskID)
                } else {
                    let error: any Error =
                        task.cancelRequested
                        ? CancellationError() : ClusterError.workerLost(worker: worker, task: task.function.name, reason: reason)
                    failures.append((taskID, error))
                }
            case .running:
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
        schedule(effects: &effects, spill: spill)
    }
}

extension CoreState {
    /// Objects whose only copy was in `worker`'s process are made again by their tasks (whose
    /// inputs their lineage kept alive); objects without lineage fail with
    /// ``ClusterError/objectLost(_:)``.
    fileprivate mutating func reconstructObjects(
        lostWith worker: Int, reason: String, effects: inout Effects, nextTaskID: () -> UInt64
    ) {
        var rebuilt: [UInt64] = []
        for id in Array(objects.keys) {
            guard var entry = objects[id] else { continue }
            if entry.location == worker { entry.location = nil }
            guard case .remote(let copy) = entry.state, copy.worker == worker else {
                objects[id] = entry
                continue
            }
            guard let lineage = entry.lineage else {
                objects[id] = entry
                fail(id, ClusterError.objectLost(id), effects: &effects)
                continue
            }
            let taskID = nextTaskID()
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
            if task.unresolved == 0 {
                task.phase = .waitingForResources
                readyQueues[ReadyQueueKey(resources: task.options.resources, placement: task.options.placement), default: []].append(taskID)
            }
            tasks[taskID] = task
        }
    }
}

extension Array {
    subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}
