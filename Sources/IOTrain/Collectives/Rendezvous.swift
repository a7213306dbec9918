import IORuntime
import Synchronization

/// The meeting point of a group being formed: every rank registers its address, and each gets
/// the addresses of all once the last has arrived (as PyTorch's `TCPStore` does for
/// `init_process_group`).
///
/// It lives in the driver's process. Ranks in that process register directly; ranks in other
/// processes connect to its TCP listener, authenticated with a token derived from the cluster's
/// (``ClusterToken/derived(for:)``), so that only members of the cluster can join.
final class Rendezvous: Sendable {
    /// Frame kinds on a rendezvous connection.
    enum Kind: UInt16 {
        /// rank → rendezvous: the rank's number and address.
        case register = 0xC0_01
        /// rendezvous → rank: every rank's address.
        case addresses = 0xC0_02
        /// rendezvous → rank: forming the group failed (a UTF-8 reason).
        case failed = 0xC0_03
    }

    private struct State {
        var addresses: [Int: CollectiveAddress] = [:]
        /// Ranks in this process waiting for the others.
        var waiters: [OneShot<[CollectiveAddress]>] = []
        /// Ranks in other processes waiting for the others, by the peer their connection has.
        var remote: [PeerID] = []
        var outcome: Result<[CollectiveAddress], CollectiveError>?
    }

    let group: String
    let size: Int
    private let state = Mutex(State())
    private let tcp: (any NetworkTransport)?
    /// The port ranks in other processes connect to (0 when there is none).
    let port: Int
    /// The host they connect to.
    let host: String

    private static let open = Mutex<[String: Rendezvous]>([:])

    /// Opens the rendezvous of `group`: in process always, and over TCP on `host`, authenticated
    /// by `secret`, when there is one (the ranks are in a multi-process cluster's workers).
    ///
    /// On a cluster of machines (this process has a node's TLS), it listens on every interface
    /// with mutual TLS and tells the ranks the address machines reach this one at.
    static func open(group: String, size: Int, host: String, network: PeerNetwork?) async throws -> Rendezvous {
        var tcp: (any NetworkTransport)?
        var port = 0
        var advertised = host
        if let network {
            let ranks = Set((0..<size).map { RankEndpoint.peer(ofRank: $0) })
            let transport = try network.makeTransport(.driver, network.derivedSecret(tokenPurpose(group)), ranks)
            port = try await transport.listen(host: network.listenHost ?? host, port: 0)
            advertised = network.advertisedHost ?? host
            tcp = transport
        }
        let rendezvous = Rendezvous(group: group, size: size, tcp: tcp, port: port, host: advertised)
        if let tcp {
            try await tcp.register(.driver) { [weak rendezvous] frame, source in
                rendezvous?.received(frame, from: source)
            }
        }
        Self.open.withLock { $0[group] = rendezvous }
        return rendezvous
    }

    /// The rendezvous of `group` if it is open in this process.
    static func inThisProcess(_ group: String) -> Rendezvous? { Self.open.withLock { $0[group] } }

    static func tokenPurpose(_ group: String) -> String { "iocompute.collective/\(group)" }

    private init(group: String, size: Int, tcp: (any NetworkTransport)?, port: Int, host: String) {
        self.host = host
        self.group = group
        self.size = size
        self.tcp = tcp
        self.port = port
    }

    /// Registers a rank of this process and returns every rank's address once all have come.
    func register(rank: Int, address: CollectiveAddress) async throws -> [CollectiveAddress] {
        let waiter = OneShot<[CollectiveAddress]>()
        let outcome = state.withLock { state -> Result<[CollectiveAddress], CollectiveError>? in
            if let outcome = state.outcome { return outcome }
            state.waiters.append(waiter)
            return nil
        }
        if let outcome { return try outcome.get() }
        add(rank: rank, address: address)
        return try await waiter.value()
    }

    /// A frame from a rank in another process.
    private func received(_ frame: WireFrame, from source: PeerID) {
        guard frame.kind == Kind.register.rawValue else {
            fail("rank behind \(source) sent an unexpected frame of kind \(frame.kind)")
            return
        }
        do {
            var decoder = WireDecoder(frame.payload)
            let rank = try decoder.readLength()
            let address = try CollectiveAddress(from: &decoder)
            guard rank < size, source.rawValue == UInt32(rank + 1) else {
                fail("a peer (\(source)) registered as rank \(rank) of \(size)")
                return
            }
            let finished = state.withLock { state -> Result<[CollectiveAddress], CollectiveError>? in
                if state.outcome == nil { state.remote.append(source) }
                return state.outcome
            }
            if let finished {
                reply(finished, to: [source])
            } else {
                add(rank: rank, address: address)
            }
        } catch {
            fail("a rank's registration was malformed: \(error)")
        }
    }

    private func add(rank: Int, address: CollectiveAddress) {
        enum Next { case wait, duplicate, complete([CollectiveAddress]) }
        let next = state.withLock { state -> Next in
            guard state.outcome == nil else { return .wait }
            if state.addresses[rank] != nil { return .duplicate }
            state.addresses[rank] = address
            guard state.addresses.count == size else { return .wait }
            return .complete((0..<size).map { state.addresses[$0]! })
        }
        switch next {
        case .wait: break
        case .duplicate: fail("rank \(rank) registered twice")
        case .complete(let addresses): finish(.success(addresses))
        }
    }

    /// Ends the rendezvous with a failure that every rank waiting (now or later) receives.
    func fail(_ reason: String) {
        finish(.failure(.rendezvousFailed(group: group, reason: reason)))
    }

    /// Ends the rendezvous because the time ran out.
    func timeOut() {
        let arrived = state.withLock { $0.addresses.count }
        finish(.failure(.rendezvousTimedOut(group: group, arrived: arrived, expected: size)))
    }

    private func finish(_ outcome: Result<[CollectiveAddress], CollectiveError>) {
        let (waiters, remote) = state.withLock { state -> ([OneShot<[CollectiveAddress]>], [PeerID]) in
            guard state.outcome == nil else { return ([], []) }
            state.outcome = outcome
            defer {
                state.waiters = []
                state.remote = []
            }
            return (state.waiters, state.remote)
        }
        for waiter in waiters { waiter.resume(with: outcome.mapError { $0 as any Error }) }
        reply(outcome, to: remote)
    }

    private func reply(_ outcome: Result<[CollectiveAddress], CollectiveError>, to peers: [PeerID]) {
        guard let tcp else { return }
        let frame: WireFrame
        switch outcome {
        case .success(let addresses):
            var encoder = WireEncoder()
            encoder.writeLength(addresses.count)
            for address in addresses { address.encode(to: &encoder) }
            frame = WireFrame(kind: Kind.addresses.rawValue, payload: encoder.bytes)
        case .failure(let error):
            frame = WireFrame(kind: Kind.failed.rawValue, payload: Array("\(error)".utf8))
        }
        for peer in peers { try? tcp.send(frame, from: .driver, to: peer) }
    }

    /// Closes the rendezvous: ranks that have not registered fail, and the listener closes.
    func close() async {
        fail("the rendezvous closed before every rank arrived")
        _ = Self.open.withLock { $0.removeValue(forKey: group) }
        await tcp?.shutdown()
    }
}
