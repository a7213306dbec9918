import Logging
import Synchronization

/// Carries messages between the owner (`ClusterCore`) and the in-process workers: directly as
/// Swift values, or — in codec mode — encoded into frames and sent through an
/// ``InProcessTransport``, exactly as a multi-process cluster would.
final class MessageRouter: Sendable {
    let workers: [InProcessWorker]
    let transport: InProcessTransport?
    private let core = Mutex<ClusterCore?>(nil)
    private let logger = Logger(label: "iocompute.transport")

    init(workerCount: Int, routesThroughCodec: Bool) {
        transport = routesThroughCodec ? InProcessTransport() : nil
        workers = (0..<workerCount).map { InProcessWorker(index: $0) }
    }

    func start(core: ClusterCore, registry: Registry) async throws {
        self.core.withLock { $0 = core }
        for worker in workers {
            worker.configure(registry: registry) { [weak self] message in self?.sendToDriver(message, from: worker.index) }
        }
        guard let transport else { return }
        try await transport.register(.driver) { [weak self] frame, peer in self?.receive(frame, from: peer, at: nil) }
        for worker in workers {
            try await transport.register(PeerID(UInt32(worker.index + 1))) { [weak self] frame, peer in
                self?.receive(frame, from: peer, at: worker)
            }
        }
    }

    private func receive(_ frame: WireFrame, from peer: PeerID, at worker: InProcessWorker?) {
        let message: RuntimeMessage
        do {
            message = try RuntimeMessage(frame: frame)
        } catch {
            logger.error("dropped a malformed frame from \(peer): \(error)")
            return
        }
        if let worker {
            worker.handle(message)
        } else {
            deliverToCore(message)
        }
    }

    private func deliverToCore(_ message: RuntimeMessage) {
        guard case .completed(let completion) = message else {
            logger.error("the driver received a message meant for a worker")
            return
        }
        core.withLock { $0 }?.complete(completion)
    }

    func send(_ message: RuntimeMessage, toWorker index: Int) {
        guard let transport else {
            workers[index].handle(message)
            return
        }
        do {
            try transport.send(message.frame(), from: .driver, to: PeerID(UInt32(index + 1)))
        } catch {
            logger.error("could not send to worker \(index): \(error)")
        }
    }

    func sendToDriver(_ message: RuntimeMessage, from index: Int) {
        guard let transport else {
            deliverToCore(message)
            return
        }
        do {
            try transport.send(message.frame(), from: PeerID(UInt32(index + 1)), to: .driver)
        } catch {
            logger.error("worker \(index) could not reach the driver: \(error)")
        }
    }

    /// Cancels every job, waits up to `grace` for them to end, and disconnects.
    func shutdown(grace: Duration) async {
        for worker in workers { worker.cancelAll() }
        let deadline = ContinuousClock.now + grace
        for worker in workers { await worker.waitForJobs(until: deadline) }
        await transport?.shutdown()
        core.withLock { $0 = nil }
    }
}
