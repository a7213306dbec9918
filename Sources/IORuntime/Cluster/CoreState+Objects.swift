import Logging

// Objects: sealing, failing and waking what waited for them; memory, spilling and release.
extension CoreState {
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
    mutating func adoptPulled(_ id: ObjectID, _ payload: Payload, effects: inout Effects) {
        guard let index = objects.index(forKey: id), case .remote = objects.values[index].state else { return }
        let dependents = objects.values[index].dependents
        objects.values[index].dependents = []
        objects.values[index].state = .ready(payload)
        objects.values[index].byteCount = payload.byteCount
        objects.values[index].lastAccess = tick()
        bytesInMemory += payload.byteCount
        for dependent in dependents { inputBecameReady(dependent) }
        effects.spillCandidates = true
        schedule(effects: &effects)
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

    mutating func inputBecameReady(_ taskID: UInt64) {
        guard let index = tasks.index(forKey: taskID) else { return }
        tasks.values[index].unresolved -= 1
        if tasks.values[index].unresolved == 0 { makeReady(taskID) }
    }

    mutating func removeFromReadyQueue(_ task: TaskRecord) {
        guard case .waitingForResources = task.phase else { return }
        let key = ReadyQueueKey(resources: task.options.resources, placement: task.options.placement)
        readyQueues[key]?.removeAll { $0 == task.id }
    }

    // MARK: Object memory

    /// Has spilled object `id` read back from disk outside the lock (see
    /// `ClusterCore.restoreSpilled`), unless that is under way already; `waiter` (a reader) or
    /// `dependent` (a task that needs it to start) is woken when it settles. Call only for a
    /// spilled object.
    mutating func awaitRestore(_ id: ObjectID, waiter: ObjectWaiter? = nil, dependent: UInt64? = nil, effects: inout Effects) {
        guard let index = objects.index(forKey: id), case .spilled(let spilled) = objects.values[index].state else { return }
        if let waiter { objects.values[index].waiters.append(waiter) }
        if let dependent { objects.values[index].dependents.append(dependent) }
        if restoresInFlight.insert(id).inserted { effects.restores.append((id, spilled)) }
    }

    /// Settles a restore read outside the lock. Read, the object is in memory again: its readers
    /// have it and the tasks that waited for it are scheduled. A failed read fails them, and the
    /// object stays on disk for a later read to try again. An object freed meanwhile is dropped.
    mutating func settleRestore(
        _ id: ObjectID, from spilled: SpilledObject, _ result: Result<Payload, ClusterError>, effects: inout Effects
    ) {
        restoresInFlight.remove(id)
        guard let index = objects.index(forKey: id), case .spilled(let current) = objects.values[index].state,
            current.path == spilled.path
        else { return }
        let waiters = objects.values[index].waiters
        let dependents = objects.values[index].dependents
        objects.values[index].waiters = []
        objects.values[index].dependents = []
        switch result {
        case .success(let payload):
            bytesSpilled -= spilled.byteCount
            spilledObjects -= 1
            totalRestores += 1
            objects.values[index].state = .ready(payload)
            objects.values[index].byteCount = payload.byteCount
            objects.values[index].lastAccess = tick()
            bytesInMemory += payload.byteCount
            for waiter in waiters { effects.resumptions.append((waiter, .success(payload))) }
            for dependent in dependents { inputBecameReady(dependent) }
            effects.spillCandidates = true
            schedule(effects: &effects)
        case .failure(let error):
            for waiter in waiters { effects.resumptions.append((waiter, .failure(error))) }
            for dependent in Set(dependents) {
                guard let task = tasks.removeValue(forKey: dependent) else { continue }
                for input in task.arguments.flatMap(\.objectIDs) { objects[input]?.dependents.removeAll { $0 == dependent } }
                failed += 1
                fail(task.result, error, effects: &effects)
            }
        }
    }

    /// Chooses least recently used objects to spill until memory use, less what is being
    /// written already, is under `capacity`. The files are written outside the lock (see
    /// `ClusterCore.spillOverCapacity`): each object stays readable in memory meanwhile.
    mutating func planSpills(capacity: Int) -> [SpillJob] {
        guard holdsMore(than: capacity) else { return [] }
        var candidates: [(id: ObjectID, access: UInt64, byteCount: Int, payload: Payload)] = []
        for (id, entry) in objects {
            guard case .ready(let payload) = entry.state, entry.byteCount > 0, !spillsInFlight.contains(id) else { continue }
            candidates.append((id, entry.lastAccess, entry.byteCount, payload))
        }
        candidates.sort { $0.access < $1.access }
        var jobs: [SpillJob] = []
        for candidate in candidates {
            guard holdsMore(than: capacity) else { break }
            spillsInFlight.insert(candidate.id)
            bytesBeingSpilled += candidate.byteCount
            jobs.append(SpillJob(id: candidate.id, payload: candidate.payload, byteCount: candidate.byteCount))
        }
        return jobs
    }

    /// Whether memory use, less what is being spilled already, is over `capacity`: checked under
    /// the lock a caller holds anyway, so that only a store that must spill takes it again.
    func holdsMore(than capacity: Int) -> Bool { bytesInMemory - bytesBeingSpilled > capacity }

    /// Settles a spill written outside the lock: the object lives on disk from now on, unless it
    /// was freed while its file was written (the file goes) or the write failed (it stays in
    /// memory).
    mutating func settleSpill(_ job: SpillJob, _ result: Result<SpilledObject, ClusterError>, spill: SpillStore) {
        spillsInFlight.remove(job.id)
        bytesBeingSpilled -= job.byteCount
        switch result {
        case .failure(let error):
            // The disk refused: keep the object in memory rather than lose it.
            Logger(label: "iocompute.objectstore").warning("could not spill \(job.id): \(error); keeping it in memory")
        case .success(let spilled):
            guard var entry = objects[job.id], case .ready = entry.state else {
                spill.remove(spilled)
                return
            }
            bytesInMemory -= entry.byteCount
            bytesSpilled += spilled.byteCount
            spilledObjects += 1
            totalSpills += 1
            entry.state = .spilled(spilled)
            entry.byteCount = 0
            objects[job.id] = entry
        }
    }

    /// Drops one handle of `id`; the object goes when none is left. Returns whom to tell when a
    /// large object went and workers are processes: they may keep it or a copy of it.
    @discardableResult
    mutating func release(_ id: ObjectID, spill: SpillStore) -> FreedObject? {
        guard var entry = objects[id] else { return nil }
        entry.handles -= 1
        if entry.handles > 0 {
            objects[id] = entry
            return nil
        }
        objects[id] = nil
        switch entry.state {
        case .remote(let copy): return FreedObject(holder: copy.worker)
        case .ready:
            bytesInMemory -= entry.byteCount
            // A copy pulled from a worker process is still there, and workers may have pulled
            // one of a large object from here.
            if isNetwork, entry.byteCount > ObjectTransfer.inlineLimit { return FreedObject(holder: entry.location) }
        case .spilled(let spilled):
            bytesSpilled -= spilled.byteCount
            spilledObjects -= 1
            spill.remove(spilled)
            if isNetwork, spilled.byteCount > ObjectTransfer.inlineLimit { return FreedObject(holder: entry.location) }
        case .pending, .failed: break
        }
        return nil
    }
}

/// A large object the driver let go of, when workers are processes.
struct FreedObject {
    /// The worker that made it and keeps it (or the copy the driver pulled), if one does.
    let holder: Int?
}

/// An object chosen to go to disk, with its bytes as they were when it was chosen (objects
/// never change).
struct SpillJob {
    let id: ObjectID
    let payload: Payload
    let byteCount: Int
}
