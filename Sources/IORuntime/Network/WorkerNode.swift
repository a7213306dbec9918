import Logging
import Synchronization

/// The runtime of a worker process in a multi-process cluster: it runs the tasks the driver
/// assigns, hosts the actors the driver places on it, answers heartbeats, and sends everything
/// it has to say to the driver.
///
/// A network implementation (such as `IOTransportTCP`'s local processes) creates one with
/// ``serve(as:over:registry:)`` once its transport is connected to the driver, and ends the
/// process when the driver's connection is lost.
public final class WorkerNode: MessageSending, Sendable {
    /// This worker's peer on the transport (worker `i` is `PeerID(i + 1)`).
    public let peer: PeerID
    let transport: any Transport
    let registry: Registry
    let executor: InProcessWorker
    let hub: ActorHub
    let system: ClusterActorSystem
    private let logger = Logger(label: "iocompute.worker")

    private init(peer: PeerID, transport: any Transport, registry: Registry) {
        self.peer = peer
        self.transport = transport
        self.registry = registry
        let index = Int(peer.rawValue) - 1
        executor = InProcessWorker(index: index)
        var generator = SystemRandomNumberGenerator()
        hub = ActorHub(session: generator.next(), role: .workerProcess, routesThroughCodec: true, router: NoRouter())
        system = ClusterActorSystem(hub: hub, worker: index)
    }

    /// Starts serving as worker `peer` on `transport` with the functions and actor types of
    /// `registry` (the same registry the driver built).
    public static func serve(as peer: PeerID, over transport: any Transport, registry: Registry) async throws -> WorkerNode {
        let node = WorkerNode(peer: peer, transport: transport, registry: registry)
        node.hub.router.withLock { $0 = node }
        node.executor.configure(registry: registry, actorSystem: node.system) { [weak node] message in node?.report(message) }
        try await transport.register(peer) { [weak node] frame, source in node?.receive(frame, from: source) }
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
        case .execute, .cancel: executor.handle(message)
        case .heartbeat(let sequence): send(.heartbeatAck(sequence), from: peer, to: .driver)
        case .actorCall(let call): system.host(call)
        case .actorReply(let reply): hub.deliver(reply)
        case .spawnActor(let spawn): build(spawn)
        case .killActor(let id): system.resignID(id)
        case .completed, .heartbeatAck, .actorSpawned:
            logger.error("\(source) sent a worker a message only workers send")
        }
    }

    /// Builds an actor under the identity the driver chose and says whether it worked.
    private func build(_ spawn: ActorSpawn) {
        var failure: TaskError?
        if let factory = registry.actors[spawn.typeName] {
            do {
                let actor = try ClusterActorSystem.$presetIdentity.withValue(spawn.actor) {
                    try ClusterActorSystem.$current.withValue(system) { try factory(system) }
                }
                if (actor.id as? ActorIdentity) != spawn.actor { throw ActorError.wrongSystem(spawn.typeName) }
                // The hub holds the instance (set by `actorReady`) until the driver kills it.
            } catch {
                failure = TaskError(taskName: spawn.typeName, thrown: error)
            }
        } else {
            failure = TaskError(taskName: spawn.typeName, thrown: ClusterError.notRegistered(name: spawn.typeName))
        }
        send(.actorSpawned(ActorSpawned(actor: spawn.actor, error: failure)), from: peer, to: .driver)
    }

    /// Sends a finished task's report; one whose result cannot be sent fails the task instead.
    private func report(_ message: RuntimeMessage) {
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

    /// Everything a worker says goes to the driver, which routes it on.
    func send(_ message: RuntimeMessage, from source: PeerID, to destination: PeerID) {
        do {
            try transport.send(message.frame(), from: peer, to: .driver)
        } catch {
            logger.error("could not send to the driver: \(error)")
        }
    }

    /// Cancels the running tasks and stops the actors' mailboxes.
    public func stop() {
        executor.cancelAll()
        system.closeMailboxes()
        hub.close()
    }
}

/// The placeholder router of a hub whose real router is set right after it is made.
private struct NoRouter: MessageSending {
    func send(_ message: RuntimeMessage, from source: PeerID, to destination: PeerID) {}
}
