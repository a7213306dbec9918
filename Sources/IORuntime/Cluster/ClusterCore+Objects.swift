import Synchronization

// Objects owned here: reading (waiting for a seal), putting, and releasing.
extension ClusterCore {
    /// The payload of a new object, routed through the codec when an in-process cluster is in
    /// codec mode. A multi-process driver keeps the value: it is encoded when a worker first
    /// needs it, straight into shared memory or into the message that carries it.
    func storedPayload(_ value: any WireSerializable) -> Payload {
        let payload = Payload.value(value)
        guard configuration.routesThroughCodec, !router.isNetwork else { return payload }
        let (typeName, bytes) = payload.encoded
        return .bytes(typeName: typeName, bytes)
    }

    // MARK: Reading objects

    /// The payload of object `id`, waiting for it. A pinned object is refused unless
    /// `pinnedFor` says why reading it here is allowed (an actor built from it on its worker).
    func payload(of id: ObjectID, pinnedFor allowed: PinnedRead? = nil) async throws -> Payload {
        enum Lookup {
            case found(Payload)
            case restoring(OneShot<Payload>, Effects)
            case failed(any Error)
            case pending
            case remote(RemoteCopy)
        }
        while true {
            let lookup = state.withLock { state -> Lookup in
                guard let entry = state.objects[id] else { return .failed(ClusterError.objectLost(id)) }
                if entry.flag.isPinned && allowed == nil {
                    return .failed(
                        ClusterError.pinned(
                            object: id, worker: entry.location, reason: "it cannot be read outside the tasks and actors given it"))
                }
                switch entry.state {
                case .ready(let payload):
                    let now = state.tick()
                    state.objects[id]?.lastAccess = now
                    return .found(payload)
                case .spilled:
                    let reader = OneShot<Payload>()
                    var effects = Effects()
                    state.awaitRestore(id, waiter: .reader(reader), effects: &effects)
                    return .restoring(reader, effects)
                case .failed(let error): return .failed(error)
                case .pending: return .pending
                case .remote(let copy): return .remote(copy)
                }
            }
            switch lookup {
            case .found(let payload): return payload
            case .restoring(let reader, let effects):
                perform(effects)
                return try await reader.value()
            case .failed(let error): throw error
            case .remote(let copy):
                do {
                    return try await fetch(id, copy)
                } catch is HolderLost {
                    continue  // The object is being rebuilt, or has failed.
                }
            case .pending:
                do {
                    return try await waitForSeal(id)
                } catch is ObjectSealedElsewhere {
                    continue
                }
            }
        }
    }

    func waitForSeal(_ id: ObjectID) async throws -> Payload {
        let reader = OneShot<Payload>()
        var effects = Effects()
        let immediate = state.withLock { state -> Result<Payload, any Error>? in
            guard let entry = state.objects[id] else { return .failure(ClusterError.objectLost(id)) }
            switch entry.state {
            case .pending:
                state.objects[id]?.waiters.append(.reader(reader))
                return nil
            case .ready(let payload): return .success(payload)
            case .failed(let error): return .failure(error)
            case .spilled:
                state.awaitRestore(id, waiter: .reader(reader), effects: &effects)
                return nil
            case .remote: return .failure(ObjectSealedElsewhere())
            }
        }
        if let immediate { return try immediate.get() }
        perform(effects)
        // A cancelled reader stays in the entry's list until the object settles; resuming it
        // then is a no-op.
        return try await reader.value()
    }

    func value<T: WireSerializable>(of id: ObjectID, as type: T.Type) async throws -> T {
        try await payload(of: id).value(as: T.self, object: id)
    }

    /// Calls `callback` once for each of `ids` as it is sealed or fails (at once for those that
    /// already have), registering all of them under one acquisition of the lock.
    func whenSettled(_ ids: [ObjectID], _ callback: @escaping @Sendable () -> Void) {
        let settledNow = state.withLock { state -> Int in
            var settled = 0
            for id in ids {
                guard let index = state.objects.index(forKey: id), state.objects.values[index].isPending else {
                    settled += 1
                    continue
                }
                state.objects.values[index].waiters.append(.callback { _ in callback() })
            }
            return settled
        }
        for _ in 0..<settledNow { callback() }
    }

    /// The placement of an actor spawned from object `id` under `placement`: on the worker that
    /// holds it when it is pinned (``TaskOptions/pinsResult``), as asked otherwise. Call once the
    /// object has settled.
    ///
    /// - Throws: ``ClusterError/pinned(object:worker:reason:)`` when `placement` names another
    ///   worker or the holder can never offer `needs`.
    func actorPlacement(from id: ObjectID, _ placement: Placement, needs: ResourceSet, typeName: String) throws -> Placement {
        try state.withLock { state -> Result<Placement, ClusterError> in
            guard let holder = state.pinnedHolder(of: id) else { return .success(placement) }
            return holder.flatMap { worker in state.placement(placement, on: worker, for: id, needs: needs) { "actor \(typeName)" } }
        }.get()
    }

    // MARK: Spilling and restoring

    /// Reads spilled objects back from disk outside the lock, then settles each under it: its
    /// readers resume and the tasks that waited for it start.
    func restoreSpilled(_ restores: [(id: ObjectID, spilled: SpilledObject)]) {
        for (id, spilled) in restores {
            let read = Result { () throws(ClusterError) -> Payload in try spill.restore(id, spilled) }
            let (effects, before, after, overCapacity) = state.withLock { state in
                let before = state.storeSnapshot
                var effects = Effects()
                state.settleRestore(id, from: spilled, read, effects: &effects)
                return (effects, before, state.storeSnapshot, state.holdsMore(than: configuration.objectStoreMemory))
            }
            metrics.observeStore(after, since: before)
            perform(effects)
            if overCapacity { spillOverCapacity() }  // The restored object may have filled the store.
        }
    }

    /// Spills objects while the store holds more than its capacity: chosen under the lock,
    /// written outside it, so that writing a large object to disk never stalls the scheduler,
    /// and settled under it (see `CoreState.planSpills`).
    func spillOverCapacity() {
        let (jobs, before) = state.withLock { ($0.planSpills(capacity: configuration.objectStoreMemory), $0.storeSnapshot) }
        guard !jobs.isEmpty else { return }
        for job in jobs {
            let written = Result { () throws(ClusterError) -> SpilledObject in try spill.write(job.id, job.payload) }
            state.withLock { $0.settleSpill(job, written, spill: spill) }
        }
        metrics.observeStore(state.withLock { $0.storeSnapshot }, since: before)
    }

    // MARK: Putting objects

    func put(_ value: any WireSerializable) throws(ClusterError) -> ObjectHandle {
        drainReleases()
        let id = ids.nextObject()
        let payload = storedPayload(value)
        let flag = SettleFlag()
        let store = try state.withLock { (state) throws(ClusterError) -> (StoreSnapshot, StoreSnapshot, overCapacity: Bool) in
            guard !state.isShutDown else { throw .shutDown }
            let before = state.storeSnapshot
            state.objects[id] = ObjectEntry(state: .pending, handles: 1, flag: flag)
            var effects = Effects()
            state.seal(id, payload, location: nil, effects: &effects)
            return (before, state.storeSnapshot, state.holdsMore(than: configuration.objectStoreMemory))
        }
        metrics.observeStore(store.1, since: store.0)
        if store.overCapacity { spillOverCapacity() }
        return ObjectHandle(adopting: id, core: self, flag: flag)
    }

    // MARK: Releasing objects

    /// Called from `ObjectHandle.deinit`, possibly under the main lock: queue the release and
    /// let a task drain the queue.
    func releaseHandle(_ id: ObjectID) {
        let first = pendingReleases.withLock { queue -> Bool in
            queue.append(id)
            return queue.count == 1
        }
        if first { Task.detached { [self] in self.drainReleases() } }
    }

    func drainReleases() {
        let ids = pendingReleases.withLock { queue -> [ObjectID] in
            let taken = queue
            queue.removeAll()
            return taken
        }
        guard !ids.isEmpty else { return }
        // Every live worker hears of a freed large object, not only its holder: another may keep
        // a copy it pulled (from the driver, or directly from the holder, so the driver cannot
        // tell which), and that copy is of no use from now on. A worker without one ignores it.
        let (frees, gone, live) = state.withLock { state in
            let frees = ids.compactMap { id in state.release(id, spill: spill).map { (id, $0) } }
            let live = frees.isEmpty ? [] : state.workers.indices.filter { state.workers[$0].isAlive }
            return (frees, ids.filter { state.objects[$0] == nil }, live)
        }
        for (id, freed) in frees {
            // The holder first: it frees the object itself.
            if let holder = freed.holder { router.send(.freeObject(id), toWorker: holder) }
            for worker in live where worker != freed.holder { router.send(.freeObject(id), toWorker: worker) }
        }
        if sharesMemory { dropExports(gone) }
    }
}

extension Payload {
    /// The value of object `id`'s payload; a stored value of another type is
    /// ``ClusterError/typeMismatch(object:expected:stored:)``.
    func value<T: WireSerializable>(as type: T.Type, object id: ObjectID) throws -> T {
        do {
            return try value(as: T.self)
        } catch let error as WireError {
            if case .typeMismatch(let expected, let found) = error {
                throw ClusterError.typeMismatch(object: id, expected: expected, stored: found)
            }
            throw error
        }
    }
}
