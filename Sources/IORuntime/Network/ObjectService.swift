import Logging
import Synchronization

/// The connections over which the workers of a cluster of machines pull objects from each other
/// rather than through the driver, so that an object crosses the network once, from the node
/// that made it to the node that needs it.
///
/// Each worker listens on its own transport from the cluster's ``PeerNetwork`` (mutual TLS and a
/// secret derived from the job's: only the job's own workers get in) and tells the driver where.
/// A worker that needs an object asks the driver with ``RuntimeMessage/pullOrLocate(_:)``; when
/// another worker holds it the driver answers with its address (``RuntimeMessage/objectAt(_:)``)
/// and the worker pulls it from there in checksummed chunks, checked against the size the driver
/// knows. Anything that goes wrong on the direct path (no connection, the holder lost or without
/// the object) sends the pull back through the driver, which recovers lost objects.
final class ObjectService: Sendable {
    static let purpose = "iocompute.objects"

    let transport: any NetworkTransport
    let peer: PeerID
    /// Connection attempts under way, by holder: pulls from one holder share one.
    private let dials = Mutex<[PeerID: Task<Void, any Error>]>([:])

    init(network: PeerNetwork, peer: PeerID) throws {
        self.peer = peer
        // Any worker of the job may connect, under any ID but this one's.
        transport = try network.makeTransport(peer, network.derivedSecret(Self.purpose), nil)
    }

    /// Sends what the service says to other workers.
    var sender: Sender { Sender(transport: transport, peer: peer) }

    /// Connects to `holder` at `host:port`, unless a connection to it (either way) is open.
    ///
    /// - Throws: when it cannot connect, or another worker answers at that address.
    func connect(to holder: PeerID, host: String, port: Int) async throws {
        if transport.connectedPeers.contains(holder) { return }
        let (task, started) = dials.withLock { dials -> (Task<Void, any Error>, Bool) in
            if let running = dials[holder] { return (running, false) }
            let task = Task { [transport] in
                do {
                    let answered = try await transport.connect(host: host, port: port)
                    guard answered == holder else { throw ServiceAddressMismatch(expected: holder, answered: answered) }
                } catch  where transport.connectedPeers.contains(holder) {
                    // The holder connected to this worker meanwhile: that connection serves.
                }
            }
            dials[holder] = task
            return (task, true)
        }
        defer { if started { dials.withLock { _ = $0.removeValue(forKey: holder) } } }
        try await task.value
    }

    func shutdown() async {
        await transport.shutdown()
    }

    /// Sends messages and object chunks on the service's connections.
    struct Sender: MessageSending, ChunkSending {
        let transport: any NetworkTransport
        let peer: PeerID

        func send(_ message: RuntimeMessage, from source: PeerID, to destination: PeerID) {
            try? transport.send(message.frame(), from: peer, to: destination)
        }

        func waitUntilWritable(to destination: PeerID) async throws {
            try await transport.waitUntilWritable(to: destination)
        }

        func trySendChunk(_ chunk: ObjectChunk, to destination: PeerID) throws {
            try chunk.send(through: transport, from: peer, to: destination)
        }
    }
}

/// A worker's object service answered as another worker than the driver said.
struct ServiceAddressMismatch: Error, CustomStringConvertible {
    let expected: PeerID
    let answered: PeerID
    var description: String { "\(answered) answered where the driver placed \(expected)'s objects" }
}
