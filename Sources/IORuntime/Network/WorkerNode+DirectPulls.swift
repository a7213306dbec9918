import Logging
import Synchronization

/// How a worker's pulls go: through the driver, or, on a cluster of machines, straight from the
/// worker that holds the object (see ``ObjectService``).
final class PullRouting: Sendable {
    /// This worker's object service, once it listens.
    let service = Mutex<ObjectService?>(nil)
    /// The port it listens on, and whether the driver has been told where.
    let announcement = Mutex<(port: Int, sent: Bool)?>(nil)
    /// Objects to pull through the driver only (a direct pull of them failed), with how many
    /// callers want that.
    private let relayOnly = Mutex<[ObjectID: Int]>([:])

    /// Whether to ask the driver where `id` is rather than for the object itself.
    func asksForLocation(of id: ObjectID) -> Bool {
        service.withLock { $0 != nil } && relayOnly.withLock { $0[id] == nil }
    }

    /// Runs `body` with pulls of `id` going through the driver only.
    func relaying<R>(_ id: ObjectID, _ body: () async throws -> R) async throws -> R {
        relayOnly.withLock { $0[id, default: 0] += 1 }
        defer {
            relayOnly.withLock { counts in
                counts[id, default: 1] -= 1
                if counts[id] == 0 { counts[id] = nil }
            }
        }
        return try await body()
    }
}

// Pulling objects straight from the worker that holds them, and serving this worker's.
extension WorkerNode {
    /// Opens this worker's object service when the cluster spans machines, before the worker
    /// connects to its driver. Without one (one machine, or when it cannot open) every pull
    /// goes through the driver, as before.
    package func openObjectService() async {
        guard !sharesMemory, let network = PeerNetwork.ofThisProcess, network.spansHosts else { return }
        do {
            let service = try ObjectService(network: network, peer: peer)
            try await service.transport.register(peer) { [weak self] frame, source in self?.receiveFromWorker(frame, from: source) }
            service.transport.registerPlacement(peer) { [weak self] head, source in self?.puller.placement(for: head, from: source) }
            service.transport.onPeerLost { [weak self] holder in self?.puller.peerLost(holder) }
            let port = try await service.transport.listen(host: network.listenHost ?? "127.0.0.1", port: 0)
            routing.service.withLock { $0 = service }
            routing.announcement.withLock { $0 = (port, false) }
        } catch {
            logger.warning("objects will come through the driver: no object service (\(error))")
        }
    }

    /// Tells the driver where the object service listens, once, just before the first report of
    /// an object kept here: on the same connection, so the driver knows where to send pullers
    /// before it learns of the object (and surely listens: it assigned the task).
    func announceObjectService() {
        guard let host = PeerNetwork.ofThisProcess?.advertisedHost else { return }
        let port = routing.announcement.withLock { announcement -> Int? in
            guard let current = announcement, !current.sent else { return nil }
            announcement = (current.port, true)
            return current.port
        }
        if let port { send(.objectService(host: host, port: port), from: peer, to: .driver) }
    }

    /// Pulls a task's input: asking the driver, which sends it or says which worker to pull it
    /// from. When the direct pull fails (its holder lost, or without it), the driver, which knows
    /// what became of the object, is asked for the object itself.
    func pull(_ id: ObjectID) async throws -> Payload {
        guard routing.service.withLock({ $0 != nil }) else { return try await puller.pull(id, from: .driver) }
        do {
            return try await puller.pull(id, from: .driver)
        } catch  where !(error is CancellationError) {
            return try await routing.relaying(id) { try await puller.pull(id, from: .driver) }
        }
    }

    /// Follows the driver's answer that `location.holder` holds an object this worker pulls.
    func follow(_ location: ObjectLocation) {
        let id = location.id
        guard let service = routing.service.withLock({ $0 }),
            puller.redirect(id, from: .driver, to: location.holder, expectedBytes: location.byteCount)
        else {
            // Nowhere to pull it from directly: the driver sends it.
            if puller.isPulling(id) { send(.pullObject(id, sharedMemory: false), from: peer, to: .driver) }
            return
        }
        Task { [self] in
            do {
                try await service.connect(to: location.holder, host: location.host, port: location.port)
                try service.transport.send(RuntimeMessage.pullObject(id, sharedMemory: false).frame(), from: peer, to: location.holder)
            } catch {
                giveUpDirectPull(location, reason: "\(error)")
            }
        }
        // A holder that hangs (stopped, cut off) neither answers nor closes: once nothing arrives
        // for a whole period, the driver, which finds out what became of it, is asked instead.
        Task { [self] in
            var last = -1
            while true {
                try? await Task.sleep(for: Self.directPullStall)
                guard let progress = puller.progress(of: id), progress.holder == location.holder else { return }
                if progress.received == last {
                    giveUpDirectPull(location, reason: "nothing arrived for \(Self.directPullStall)")
                    return
                }
                last = progress.received
            }
        }
    }

    /// How long a direct pull may go without a byte arriving before the driver is asked.
    static var directPullStall: Duration { .seconds(5) }

    /// Asks the driver for an object whose direct pull failed, if that pull still waits.
    private func giveUpDirectPull(_ location: ObjectLocation, reason: String) {
        guard puller.redirect(location.id, from: location.holder, to: .driver, expectedBytes: nil) else { return }
        logger.warning(
            "could not pull \(location.id) from \(location.holder) at \(location.host):\(location.port) (\(reason)); asking the driver")
        send(.pullObject(location.id, sharedMemory: false), from: peer, to: .driver)
    }

    /// A message from another worker on the object service: a pull of one of this worker's
    /// objects, or the answer to one of its own pulls. Nothing else is taken there.
    func receiveFromWorker(_ frame: WireFrame, from source: PeerID) {
        let message: RuntimeMessage
        do {
            message = try RuntimeMessage(frame: frame)
        } catch {
            logger.error("dropped a malformed frame from \(source) on the object service: \(error)")
            return
        }
        guard let service = routing.service.withLock({ $0 }) else { return }
        switch message {
        case .pullObject(let id, _): serve(id, to: source, sharedMemory: false, through: service.sender)
        case .objectChunk(let chunk): puller.receive(chunk, from: source)
        case .objectUnavailable(let id, let reason):
            puller.fail(id, ClusterError.transferFailed(object: id, reason: "\(source): \(reason)"), from: source)
        default:
            logger.error("\(source) sent a message the object service does not take; ignored")
        }
    }
}
