import Logging
import Synchronization

/// The runtime of a worker process in a multi-process cluster: it runs the tasks the driver
/// assigns, hosts the actors the driver places on it, answers heartbeats, and sends everything
/// it has to say to the driver.
///
/// A network implementation (such as `IOTransportTCP`'s local processes) creates one with
/// ``serve(as:over:registry:sharedMemory:)`` once its transport is connected to the driver, and ends the
/// process when the driver's connection is lost.
package final class WorkerNode: MessageSending, ChunkSending, Sendable {
    /// This worker's peer on the transport (worker `i` is `PeerID(i + 1)`).
    package let peer: PeerID
    let transport: any Transport
    let registry: Registry
    let executor: InProcessWorker
    let hub: ActorHub
    let system: ClusterActorSystem
    let objects: WorkerObjectStore
    let puller: ObjectPuller
    /// Whether objects move through shared memory (the driver is on this host and can map it).
    let sharesMemory: Bool
    /// The object each running task's result becomes, and whether it is pinned here.
    private let resultIDs = Mutex<[UInt64: (id: ObjectID, pinned: Bool)]>([:])
    /// How pulls go: through the driver, or straight from the worker that holds the object.
    let routing = PullRouting()
    let logger = Logger(label: "iocompute.worker")

    private init(peer: PeerID, transport: any Transport, registry: Registry, sharedMemory: Bool, driverProcess: Int32?) {
        self.peer = peer
        sharesMemory = sharedMemory
        objects = WorkerObjectStore()
        self.transport = transport
        self.registry = registry
        let index = Int(peer.rawValue) - 1
        executor = InProcessWorker(index: index)
        var generator = SystemRandomNumberGenerator()
        hub = ActorHub(session: generator.next(), role: .workerProcess, routesThroughCodec: true, router: NoRouter())
        system = ClusterActorSystem(hub: hub, worker: index)
        puller = ObjectPuller(
            sharedMemory: sharedMemory,
            request: { [transport, peer, routing] id, holder, shared in
                let message: RuntimeMessage = routing.asksForLocation(of: id) ? .pullOrLocate(id) : .pullObject(id, sharedMemory: shared)
                try transport.send(message.frame(), from: peer, to: .driver)
            },
            release: { [transport, peer] segment, holder in
                try? transport.send(RuntimeMessage.releaseSegment(segment).frame(), from: peer, to: .driver)
            },
            lenderProcess: { holder in holder == .driver ? driverProcess : nil },
            // The driver's segments are reused, not sealed: a worker trusts its driver.
            requiresSealedLoans: false)
    }

    /// Starts serving as worker `peer` on `transport` with the functions and actor types of
    /// `registry` (the same registry the driver built). With `sharedMemory`, the driver runs on
    /// the same host: large objects move between the two as shared-memory loans rather than
    /// bytes on the connection; loans are taken only from `driverProcess` (the driver's process
    /// ID), whatever process a loan names.
    package static func serve(
        as peer: PeerID, over transport: any Transport, registry: Registry, sharedMemory: Bool = false, driverProcess: Int32? = nil
    ) async throws -> WorkerNode {
        let node = WorkerNode(
            peer: peer, transport: transport, registry: registry, sharedMemory: sharedMemory, driverProcess: driverProcess)
        node.hub.router.withLock { $0 = node }
        node.system.lendObjects(from: node)
        node.executor.configure(registry: registry, actorSystem: node.system) { [weak node] message in node?.report(message) }
        node.executor.configure { [weak node] inputs in
            guard let node else { throw ClusterError.shutDown }
            return try await node.resolve(inputs)
        }
        try await transport.register(peer) { [weak node] frame, source in node?.receive(frame, from: source) }
        transport.registerPlacement(peer) { [weak node] head, source in node?.puller.placement(for: head, from: source) }
        // Calls come from the driver and their replies go to it: the connection's thread can run the short ones.
        node.system.deliverCalls { [transport] in transport.deliveryExecutor(for: .driver) }
        return node
    }

    private func receive(_ frame: WireFrame, from source: PeerID) {
        let message: RuntimeMessage
        do {
            message = try RuntimeMessage(frame: frame)
        } catch {
            logger.error("dropped a malformed frame from \(source): \(error)")
            return
        }
        switch message {
        case .execute(let assignment):
            resultIDs.withLock { $0[assignment.taskID] = (assignment.resultID, assignment.pinsResult) }
            executor.handle(message)
        case .cancel: executor.handle(message)
        case .heartbeat(let sequence): send(.heartbeatAck(sequence), from: peer, to: .driver)
        case .actorCall(let call): system.host(call)
        case .actorReply(let reply): hub.deliver(reply)
        case .spawnActor(let spawn): build(spawn)
        case .killActor(let id): system.resignID(id)
        case .pullObject(let id, let shared): serve(id, to: source, sharedMemory: shared, through: self)
        case .objectChunk(let chunk): puller.receive(chunk, from: source)
        case .objectShared(let shared): puller.receive(shared, from: source)
        case .releaseSegment(let segment): objects.segments.release(segment, from: source)
        case .objectUnavailable(let id, let reason):
            puller.fail(id, ClusterError.transferFailed(object: id, reason: reason), from: source)
        case .freeObject(let id): objects.free(id)
        case .objectAt(let location): follow(location)
        case .completed, .heartbeatAck, .actorSpawned, .pullOrLocate, .objectService:
            logger.error("\(source) sent a worker a message only workers send")
        }
    }

    /// Builds an actor under the identity the driver chose and says whether it worked; an actor
    /// built from an object in the store is built once the object is here.
    private func build(_ spawn: ActorSpawn) {
        switch spawn.arguments {
        case nil: build(spawn, from: nil)
        case .inline(let payload): build(spawn, from: payload)
        case .reference(let reference):
            Task { [self] in
                do {
                    build(spawn, from: try await resolve([.reference(reference)])[0])
                } catch {
                    let failure = TaskError(taskName: spawn.typeName, thrown: error)
                    send(.actorSpawned(ActorSpawned(actor: spawn.actor, error: failure)), from: peer, to: .driver)
                }
            }
        }
    }

    private func build(_ spawn: ActorSpawn, from arguments: Payload?) {
        var failure: TaskError?
        do {
            guard let factory = registry.actors[spawn.typeName] else { throw ClusterError.notRegistered(name: spawn.typeName) }
            try factory.check(arguments.map(\.typeName), typeName: spawn.typeName)
            let actor = try ClusterActorSystem.$presetIdentity.withValue(spawn.actor) {
                try ClusterActorSystem.$current.withValue(system) { try factory.build(system, arguments) }
            }
            if (actor.id as? ActorIdentity) != spawn.actor { throw ActorError.wrongSystem(spawn.typeName) }
            // The hub holds the instance (set by `actorReady`) until the driver kills it.
            hub.setConcurrency(spawn.actor, spawn.maxConcurrency)
        } catch {
            failure = TaskError(taskName: spawn.typeName, thrown: error)
        }
        send(.actorSpawned(ActorSpawned(actor: spawn.actor, error: failure)), from: peer, to: .driver)
    }

    /// The payloads of a task's inputs: inline ones as they are, references from this worker's
    /// store or pulled (through the driver, which serves every pull).
    private func resolve(_ inputs: [TaskInput]) async throws -> [Payload] {
        var payloads: [Payload] = []
        payloads.reserveCapacity(inputs.count)
        for input in inputs {
            switch input {
            case .inline(let payload): payloads.append(payload)
            case .reference(let reference):
                if let payload = objects.payload(of: reference.id) {
                    payloads.append(payload)
                    continue
                }
                let pulled = try await pull(reference.id)
                // Chunks assembled here are kept for the next task; loans are mapped again instead.
                if case .shared(let typeName, let bytes) = pulled, !bytes.isLoan {
                    objects.cache(reference.id, typeName: typeName, bytes: bytes)
                }
                payloads.append(pulled)
            }
        }
        return payloads
    }

    /// Sends one of this worker's objects to `destination` through `sender` (the driver's
    /// connection, or the object service's): lent in shared memory when the driver asked for
    /// that and the object is in a segment, in chunks otherwise.
    func serve(_ id: ObjectID, to destination: PeerID, sharedMemory: Bool, through sender: any MessageSending & ChunkSending) {
        if objects.isPinned(id) {
            logger.warning("\(destination) asked for \(id), which is pinned here; refused")
            sender.send(.objectUnavailable(id, reason: "it is pinned to \(peer) and cannot leave it"), from: peer, to: destination)
            return
        }
        guard let (typeName, stored) = objects.stored(id) else {
            sender.send(.objectUnavailable(id, reason: "\(peer) does not hold it"), from: peer, to: destination)
            return
        }
        if case .segment(let segment) = stored, sharedMemory {
            let loan = objects.segments.lend(segment, object: id, typeName: typeName, to: destination)
            sender.send(.objectShared(loan), from: peer, to: destination)
            return
        }
        // Chunks go at the connection's pace, off the thread that received the request.
        Task { [self] in
            do {
                // Read in place: a copy of a large object would cost fresh memory for each pull.
                switch stored {
                case .segment(let segment):
                    let view = objects.segments.view(segment)
                    try await ObjectTransfer.sendChunks(of: id, typeName: typeName, bytes: view, through: sender, to: destination)
                case .pulled(let pulled):
                    try await ObjectTransfer.sendChunks(of: id, typeName: typeName, bytes: pulled, through: sender, to: destination)
                case .bytes(let stored):
                    try await ObjectTransfer.sendChunks(of: id, typeName: typeName, bytes: stored, through: sender, to: destination)
                }
            } catch {
                sender.send(.objectUnavailable(id, reason: "\(error)"), from: peer, to: destination)
            }
        }
    }

    /// Sends a finished task's report: a large result stays here (in a shared-memory segment
    /// when the driver can map it) and only its size travels. One whose result cannot be sent
    /// fails the task instead.
    private func report(_ message: RuntimeMessage) {
        var message = message
        if case .completed(let completion) = message {
            let result = resultIDs.withLock { $0.removeValue(forKey: completion.taskID) }
            if case .success(let payload) = completion.outcome, let result {
                let outcome = result.pinned ? keepPinned(payload, as: result.id) : keepIfLarge(payload, as: result.id)
                if case .stored = outcome { announceObjectService() }
                message = .completed(
                    TaskCompletion(taskID: completion.taskID, attempt: completion.attempt, worker: completion.worker, outcome: outcome))
            }
        }
        do {
            try transport.send(message.frame(), from: peer, to: .driver)
        } catch {
            guard case .completed(let completion) = message else { return }
            logger.error("could not send the result of task \(completion.taskID): \(error)")
            let failed = TaskCompletion(
                taskID: completion.taskID, attempt: completion.attempt, worker: completion.worker,
                outcome: .thrown(TaskError(taskName: "task \(completion.taskID)", thrown: error)))
            send(.completed(failed), from: peer, to: .driver)
        }
    }

    /// The outcome that reports `payload`: inline when small, else `.stored` with the object
    /// kept here. A large value is encoded straight into a segment when memory is shared.
    private func keepIfLarge(_ payload: Payload, as id: ObjectID) -> TaskOutcome {
        let typeName = payload.typeName
        if sharesMemory, payload.byteCount > ObjectTransfer.inlineLimit {
            do {
                let segment = try objects.segments.store(payload)
                if segment.length > ObjectTransfer.inlineLimit {
                    objects.keep(id, typeName: typeName, .segment(segment))
                    return .stored(typeName: typeName, byteCount: segment.length)
                }
                let bytes = Array(segment.bytes)
                objects.segments.drop(segment)
                return .success(.bytes(typeName: typeName, bytes))
            } catch {
                logger.warning("could not keep a result in shared memory (\(error)); keeping it in the heap")
            }
        }
        let (_, bytes) = payload.encoded
        guard bytes.count > ObjectTransfer.inlineLimit else { return .success(.bytes(typeName: typeName, bytes)) }
        objects.keep(id, typeName: typeName, .bytes(bytes))
        return .stored(typeName: typeName, byteCount: bytes.count)
    }

    /// The outcome that reports a pinned result: kept here whatever its size (in the heap, never
    /// in a segment another process could map), with only its size reported.
    private func keepPinned(_ payload: Payload, as id: ObjectID) -> TaskOutcome {
        let (typeName, bytes) = payload.encoded
        objects.keep(id, typeName: typeName, .bytes(bytes), pinned: true)
        return .stored(typeName: typeName, byteCount: bytes.count)
    }

    /// Everything a worker says goes to the driver, which routes it on.
    func send(_ message: RuntimeMessage, from source: PeerID, to destination: PeerID) {
        do {
            try transport.send(message.frame(), from: peer, to: .driver)
        } catch {
            logger.error("could not send to the driver: \(error)")
        }
    }

    /// Sends to the driver, throwing when the message cannot go.
    func trySendChunk(_ chunk: ObjectChunk, to destination: PeerID) throws {
        try chunk.send(through: transport, from: peer, to: .driver)
    }

    /// Returns once the connection to the driver, which carries everything, has room.
    func waitUntilWritable(to destination: PeerID) async throws {
        try await transport.waitUntilWritable(to: .driver)
    }

    /// Cancels the running tasks and stops the actors' mailboxes.
    package func stop() {
        executor.cancelAll()
        system.closeMailboxes()
        hub.close()
    }
}

/// The placeholder router of a hub whose real router is set right after it is made.
private struct NoRouter: MessageSending {
    func send(_ message: RuntimeMessage, from source: PeerID, to destination: PeerID) {}
}
