import Synchronization

// Objects kept by worker processes: pulling them here, serving them to other workers, and the
// shared-memory segments the driver lends.
extension ClusterCore {
    // MARK: Objects in worker processes

    /// Pulls an object from the worker process that keeps it and keeps the copy here.
    func fetch(_ id: ObjectID, _ copy: RemoteCopy) async throws -> Payload {
        let payload = try await puller.pull(id, from: PeerID(UInt32(copy.worker + 1)), expectedBytes: copy.byteCount)
        let effects = state.withLock { state -> Effects in
            var effects = Effects()
            state.adoptPulled(id, payload, effects: &effects)
            effects.spillCandidates = effects.spillCandidates && state.holdsMore(than: configuration.objectStoreMemory)
            return effects
        }
        perform(effects)
        if effects.spillCandidates { spillOverCapacity() }
        return payload
    }

    /// Sends object `id` to the worker process that asked for it, pulling it first from another
    /// worker if that is where it is: lent in shared memory when the worker asked for that, in
    /// chunks otherwise (or when no segment can be made).
    func serve(_ id: ObjectID, to peer: PeerID, sharedMemory: Bool) {
        Task { [self] in
            do {
                let payload = try await payload(of: id)
                if sharedMemory && sharesMemory, let segment = exportedSegment(id, payload) {
                    let loan = segments.lend(segment, object: id, typeName: payload.typeName, to: peer)
                    try router.trySend(.objectShared(loan), from: .driver, to: peer)
                    return
                }
                try await ObjectTransfer.sendChunks(of: id, payload: payload, through: router, to: peer)
            } catch {
                router.send(.objectUnavailable(id, reason: "\(error)"), from: .driver, to: peer)
            }
        }
    }

    /// Answers a worker that may pull `id` from another worker: with where to, when only a worker
    /// with an object service holds it; with the object otherwise.
    func serveOrLocate(_ id: ObjectID, to peer: PeerID) {
        let copy = state.withLock { state -> RemoteCopy? in
            // A pinned object is refused by `serve`, never located.
            guard let entry = state.objects[id], !entry.flag.isPinned, case .remote(let copy) = entry.state else { return nil }
            return copy
        }
        if let copy, PeerID(UInt32(copy.worker + 1)) != peer {
            let holder = PeerID(UInt32(copy.worker + 1))
            if let service = router.objectService(of: holder) {
                let location = ObjectLocation(id: id, holder: holder, host: service.host, port: service.port, byteCount: copy.byteCount)
                router.send(.objectAt(location), from: .driver, to: peer)
                return
            }
        }
        serve(id, to: peer, sharedMemory: false)
    }

    /// The segment `id` is encoded in, encoding it on the first loan; nil when no segment can
    /// be made (the object then goes in chunks).
    func exportedSegment(_ id: ObjectID, _ payload: Payload) -> SharedSegment? {
        if let segment = exports.withLock({ $0[id] }) { return segment }
        let segment: SharedSegment
        do {
            segment = try segments.store(payload)
        } catch {
            logger.warning("could not put \(id) in shared memory (\(error)); sending it in chunks")
            return nil
        }
        let kept = exports.withLock { exports -> SharedSegment? in
            if let earlier = exports[id] { return earlier }
            exports[id] = segment
            return nil
        }
        guard let kept else { return segment }
        segments.drop(segment)  // Another pull encoded it first.
        return kept
    }

    /// Gives back the segments of objects no longer in the store.
    func dropExports(_ ids: [ObjectID]) {
        let dropped = exports.withLock { exports in ids.compactMap { exports.removeValue(forKey: $0) } }
        for segment in dropped { segments.drop(segment) }
    }
}
