import Logging
import Synchronization

/// Carries messages between the owner (`ClusterCore`), the in-process workers and the actor
/// systems: directly as Swift values, or — in codec mode — encoded into frames and sent through
/// an ``InProcessTransport``, exactly as a multi-process cluster would.
final class MessageRouter: Sendable {
    let workers: [InProcessWorker]
    let transport: InProcessTransport?
    private let core = Mutex<ClusterCore?>(nil)
    private let actorSystems = Mutex<[PeerID: ClusterActorSystem]>([:])
    private let logger = Logger(label: "iocompute.transport")

    init(workerCount: Int, routesThroughCodec: Bool) {
        transport = routesThroughCodec ? InProcessTransport() : nil
        workers = (0..<workerCount).map { InProcessWorker(index: $0) }
    }

    func start(core: ClusterCore, registry: Registry, actorSystems: [PeerID: ClusterActorSystem]) async throws {
        self.core.withLock { $0 = core }
        self.actorSystems.withLock { $0 = actorSystems }
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

    private func receive(_ frame: WireFrame, from source: PeerID, at destination: PeerID) {
        do {
            deliver(try RuntimeMessage(frame: frame), to: destination)
        } catch {
            logger.error("dropped a malformed frame from \(source): \(error)")
        }
    }

    /// Hands a message to the endpoint it is addressed to.
    private func deliver(_ message: RuntimeMessage, to destination: PeerID) {
        switch message {
        case .execute, .cancel:
            let index = Int(destination.rawValue) - 1
            guard workers.indices.contains(index) else {
                logger.error("a task message was addressed to \(destination), which is not a worker")
                return
            }
            workers[index].handle(message)
        case .completed(let completion):
            core.withLock { $0 }?.complete(completion)
        case .actorCall(let call):
            guard let system = actorSystems.withLock({ $0[destination] }) else {
                logger.error("an actor call was addressed to \(destination), which hosts no actors")
                return
            }
            system.host(call)
        case .actorReply(let reply):
            core.withLock { $0 }?.actorHub.deliver(reply)
        }
    }

    /// Sends `message` from `source` to `destination`.
    func send(_ message: RuntimeMessage, from source: PeerID, to destination: PeerID) {
        guard let transport else {
            deliver(message, to: destination)
            return
        }
        do {
            try transport.send(message.frame(), from: source, to: destination)
        } catch {
            logger.error("could not send from \(source) to \(destination): \(error)")
        }
    }

    func send(_ message: RuntimeMessage, toWorker index: Int) {
        send(message, from: .driver, to: PeerID(UInt32(index + 1)))
    }

    /// Cancels every job, waits up to `grace` for them to end, and disconnects.
    func shutdown(grace: Duration) async {
        for worker in workers { worker.cancelAll() }
        let deadline = ContinuousClock.now + grace
        for worker in workers { await worker.waitForJobs(until: deadline) }
        for system in actorSystems.withLock({ Array($0.values) }) { system.closeMailboxes() }
        await transport?.shutdown()
        core.withLock { $0 = nil }
        actorSystems.withLock { $0 = [:] }
    }
}
