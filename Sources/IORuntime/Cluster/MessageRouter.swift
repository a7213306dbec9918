import Logging
import Synchronization

/// The driver's post office. It carries messages between the owner (`ClusterCore`), the workers
/// and the actor systems:
///
/// - in process, directly as Swift values, or — in codec mode — encoded into frames and sent
///   through an ``InProcessTransport``, exactly as a multi-process cluster would;
/// - in a multi-process cluster, over the network's transport to worker processes. There it also
///   routes every actor call (workers send them to the driver), sends heartbeats, and reports a
///   worker lost when its connection drops or it stops answering.
final class MessageRouter: MessageSending, ChunkSending, Sendable {
    let workers: [InProcessWorker]
    let transport: (any Transport)?
    let link: (any ClusterLink)?
    private let core = Mutex<ClusterCore?>(nil)
    private let actorSystems = Mutex<[PeerID: ClusterActorSystem]>([:])
    /// Watches the worker processes (nil in process).
    private let monitor: HeartbeatMonitor?
    private let isClosing = Atomic<Bool>(false)
    /// Where each worker on a cluster of machines serves its objects to the others.
    private let objectServices = Mutex<[PeerID: (host: String, port: Int)]>([:])
    private let logger = Logger(label: "iocompute.transport")

    /// A router for an in-process cluster.
    init(workerCount: Int, routesThroughCodec: Bool) {
        transport = routesThroughCodec ? InProcessTransport() : nil
        link = nil
        workers = (0..<workerCount).map { InProcessWorker(index: $0) }
        monitor = nil
    }

    /// A router for a multi-process cluster whose workers `link` reaches.
    init(link: any ClusterLink, workerCount: Int, heartbeat: HeartbeatPolicy) {
        self.link = link
        transport = link.transport
        workers = []
        monitor = HeartbeatMonitor(workerCount: workerCount, policy: heartbeat)
    }

    var isNetwork: Bool { link != nil }

    /// Where worker `peer` serves its objects to other workers, if it said.
    func objectService(of peer: PeerID) -> (host: String, port: Int)? { objectServices.withLock { $0[peer] } }

    func start(core: ClusterCore, registry: Registry, actorSystems: [PeerID: ClusterActorSystem]) async throws {
        self.core.withLock { $0 = core }
        self.actorSystems.withLock { $0 = actorSystems }
        if let link, let monitor {
            try await link.transport.register(.driver) { [weak self] frame, source in self?.receive(frame, from: source, at: .driver) }
            link.transport.registerPlacement(.driver) { [weak self] head, source in self?.placement(for: head, from: source) }
            link.transport.onPeerLost { [weak self] peer in self?.declareLost(peer, reason: "its connection closed") }
            monitor.start { [weak self] index, sequence in
                guard let self, !self.isClosing.load(ordering: .relaxed) else { return false }
                return (try? self.trySend(.heartbeat(sequence), toWorker: index)) != nil
            } lose: { [weak self] index, reason in
                self?.takeOut(PeerID(UInt32(index + 1)), reason: reason)
            }
            return
        }
        for worker in workers {
            let peer = PeerID(UInt32(worker.index + 1))
            worker.configure(registry: registry, actorSystem: actorSystems[peer]) { [weak self] message in
                self?.send(message, from: peer, to: .driver)
            }
        }
        guard let transport else { return }
        for peer in [PeerID.driver] + workers.map({ PeerID(UInt32($0.index + 1)) }) {
            try await transport.register(peer) { [weak self] frame, source in self?.receive(frame, from: source, at: peer) }
        }
    }

    /// Where a large frame from worker `source` goes as it arrives: an object chunk for a pull
    /// of the driver's goes straight into place. Counts as hearing from the worker, as a whole
    /// frame does.
    private func placement(for head: IncomingFrameHead, from source: PeerID) -> (any PayloadPlacement)? {
        if let monitor {
            guard let worker = monitor.worker(Int(source.rawValue) - 1), !worker.isLost else { return nil }
            worker.heard(at: monitor.now)
        }
        return core.withLock { $0 }?.puller.placement(for: head, from: source)
    }

    private func receive(_ frame: WireFrame, from source: PeerID, at destination: PeerID) {
        if let monitor {
            guard let worker = monitor.worker(Int(source.rawValue) - 1), !worker.isLost else { return }
            worker.heard(at: monitor.now)
        }
        do {
            deliver(try RuntimeMessage(frame: frame), from: source, to: destination)
        } catch {
            logger.error("dropped a malformed frame from \(source): \(error)")
        }
    }

    /// Hands a message to the endpoint it is addressed to.
    private func deliver(_ message: RuntimeMessage, from source: PeerID, to destination: PeerID) {
        switch message {
        case .execute, .cancel:
            let index = Int(destination.rawValue) - 1
            guard workers.indices.contains(index) else {
                logger.error("a task message was addressed to \(destination), which is not a worker")
                return
            }
            workers[index].handle(message)
        case .completed(let completion):
            core.withLock { $0 }?.complete(completion, from: Int(source.rawValue) - 1)
        case .actorCall(let call):
            if isNetwork {
                routeActorCall(call)
                return
            }
            guard let system = actorSystems.withLock({ $0[destination] }) else {
                logger.error("an actor call was addressed to \(destination), which hosts no actors")
                return
            }
            system.host(call)
        case .actorReply(let reply):
            guard let core = core.withLock({ $0 }) else { return }
            if isNetwork {
                core.actorHub.replied(reply)
                if reply.replyTo != .driver {
                    send(message, from: .driver, to: reply.replyTo)
                    return
                }
            }
            core.actorHub.deliver(reply)
        case .actorSpawned(let answer):
            guard let core = core.withLock({ $0 }) else { return }
            if isNetwork, let hosted = core.actorHub.hosted(answer.actor), hosted.worker != Int(source.rawValue) - 1 {
                logger.error("\(source) answered for actor \(answer.actor), which worker-\(hosted.worker + 1) builds; ignored")
                return
            }
            core.actorSpawned(answer)
        case .heartbeatAck:
            break
        case .pullObject(let id, let shared):
            core.withLock { $0 }?.serve(id, to: source, sharedMemory: shared)
        case .objectChunk(let chunk):
            core.withLock { $0 }?.puller.receive(chunk, from: source)
        case .objectShared(let shared):
            core.withLock { $0 }?.puller.receive(shared, from: source)
        case .releaseSegment(let segment):
            core.withLock { $0 }?.segments.release(segment, from: source)
        case .objectUnavailable(let id, let reason):
            core.withLock { $0 }?.puller.fail(id, ClusterError.transferFailed(object: id, reason: "\(source): \(reason)"), from: source)
        case .pullOrLocate(let id):
            core.withLock { $0 }?.serveOrLocate(id, to: source)
        case .objectService(let host, let port):
            guard isNetwork, source != .driver else { return }
            objectServices.withLock { $0[source] = (host, port) }
        case .heartbeat, .spawnActor, .killActor, .freeObject, .objectAt:
            logger.error("\(source) sent the driver a message only the driver sends")
        }
    }

    /// Sends an actor call on to the worker hosting the actor, holds it while the actor restarts,
    /// or answers it with an error.
    func routeActorCall(_ call: ActorCall) {
        guard let core = core.withLock({ $0 }) else { return }
        switch core.actorHub.route(call) {
        case .local:
            actorSystems.withLock { $0[.driver] }?.host(call)
        case .forward(let worker):
            send(.actorCall(call), from: .driver, to: PeerID(UInt32(worker + 1)))
        case .held:
            break
        case .fail(let error):
            answer(call, with: error)
        }
    }

    /// Replies to `call` with `error` on behalf of an actor that cannot answer.
    func answer(_ call: ActorCall, with error: ActorError) {
        let reply = ActorReply(
            callID: call.callID, replyTo: call.replyTo, outcome: .thrown(TaskError(taskName: call.target, thrown: error)))
        if call.replyTo == .driver {
            core.withLock { $0 }?.actorHub.deliver(reply)
        } else {
            send(.actorReply(reply), from: .driver, to: call.replyTo)
        }
    }

    /// Sends `message` from `source` to `destination`, logging a failure.
    func send(_ message: RuntimeMessage, from source: PeerID, to destination: PeerID) {
        do {
            try trySend(message, from: source, to: destination)
        } catch {
            // After shutdown began, late messages (frees of released refs) have nowhere to go.
            guard !isClosing.load(ordering: .relaxed) else { return }
            logger.error("could not send from \(source) to \(destination): \(error)")
        }
    }

    /// Sends `message` from `source` to `destination`.
    func trySend(_ message: RuntimeMessage, from source: PeerID, to destination: PeerID) throws {
        if isNetwork && destination == .driver {
            deliver(message, from: source, to: destination)
            return
        }
        guard let transport else {
            deliver(message, from: source, to: destination)
            return
        }
        try transport.send(message.frame(), from: source, to: destination)
    }

    /// Returns once the connection to worker process `destination` has room (at once in
    /// process, or for the driver itself).
    func waitUntilWritable(to destination: PeerID) async throws {
        guard isNetwork, destination != .driver, let transport else { return }
        try await transport.waitUntilWritable(to: destination)
    }

    func trySend(_ message: RuntimeMessage, to destination: PeerID) throws {
        try trySend(message, from: .driver, to: destination)
    }

    func trySendChunk(_ chunk: ObjectChunk, to destination: PeerID) throws {
        guard let transport, !(isNetwork && destination == .driver) else { return try trySend(.objectChunk(chunk), to: destination) }
        try chunk.send(through: transport, from: .driver, to: destination)
    }

    func trySend(_ message: RuntimeMessage, toWorker index: Int) throws {
        try trySend(message, from: .driver, to: PeerID(UInt32(index + 1)))
    }

    func send(_ message: RuntimeMessage, toWorker index: Int) {
        send(message, from: .driver, to: PeerID(UInt32(index + 1)))
    }

    // MARK: Liveness

    /// Takes a worker out of the cluster once: ends its process and recovers its work.
    func declareLost(_ peer: PeerID, reason: String) {
        guard !isClosing.load(ordering: .relaxed), let worker = monitor?.worker(Int(peer.rawValue) - 1), worker.markLost() else { return }
        takeOut(peer, reason: reason)
    }

    /// Ends lost worker `peer`'s process and recovers its work (the caller marked it lost).
    private func takeOut(_ peer: PeerID, reason: String) {
        guard !isClosing.load(ordering: .relaxed) else { return }
        logger.warning("\(peer) is lost: \(reason)")
        _ = objectServices.withLock { $0.removeValue(forKey: peer) }
        link?.terminate(peer)
        core.withLock { $0 }?.workerLost(Int(peer.rawValue) - 1, reason: reason)
    }

    /// Starts a new worker process in the place of lost worker `index` and takes it back into
    /// service; false when the worker is not lost.
    func replaceLost(_ index: Int) async throws -> Bool {
        guard let link, let monitor, let worker = monitor.worker(index), worker.isLost, !isClosing.load(ordering: .relaxed) else {
            return false
        }
        try await link.replace(PeerID(UInt32(index + 1)))
        worker.revive(at: monitor.now)
        logger.info("\(PeerID(UInt32(index + 1))) was replaced by a new worker process")
        return true
    }

    /// Cancels every job, waits up to `grace` for them to end, and disconnects.
    func shutdown(grace: Duration) async {
        isClosing.store(true, ordering: .relaxed)
        monitor?.stop()
        for worker in workers { worker.cancelAll() }
        let deadline = ContinuousClock.now + grace
        for worker in workers { await worker.waitForJobs(until: deadline) }
        for system in actorSystems.withLock({ Array($0.values) }) { system.closeMailboxes() }
        if let link {
            await link.shutdown()
        } else {
            await transport?.shutdown()
        }
        core.withLock { $0 = nil }
        actorSystems.withLock { $0 = [:] }
    }
}
