import IORuntime
import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

// Joining a ring: the rendezvous, then a connection to each neighbour.
extension RankEndpoint {
    /// Joins the ring of `invitation`'s group: registers at the rendezvous, connects to the
    /// neighbours, and returns once both directions are open.
    static func join(_ invitation: CollectiveInvitation) async throws -> RankEndpoint {
        let group = invitation.group
        let inDriverProcess = invitation.rendezvousProcess == ProcessIdentity.current
        // A rank listens when it can be reached from other processes.
        var tcp: (any NetworkTransport)?
        var address = CollectiveAddress(process: ProcessIdentity.current, host: "", port: 0)
        if let network = PeerNetwork.ofThisProcess {
            // The rendezvous (as the driver) and the other ranks of the group, nobody else; on a
            // cluster of machines over mutual TLS with the node's certificate, on every interface.
            let peers = Set([PeerID.driver] + (0..<invitation.size).map { peer(ofRank: $0) })
            let transport = try network.makeTransport(
                peer(ofRank: invitation.rank), network.derivedSecret(Rendezvous.tokenPurpose(group)), peers)
            let host = invitation.rendezvousHost.isEmpty ? "127.0.0.1" : invitation.rendezvousHost
            address.host = network.advertisedHost ?? host
            address.port = try await transport.listen(host: network.listenHost ?? host, port: 0)
            tcp = transport
        } else if !inDriverProcess {
            throw CollectiveError.rendezvousFailed(
                group: group, reason: "rank \(invitation.rank) runs in a process without a cluster token, so it cannot reach the others")
        }
        let endpoint = RankEndpoint(group: group, rank: invitation.rank, size: invitation.size, tcp: tcp)
        do {
            try await endpoint.start()
            let inserted = Self.inThisProcess.withLock { table in
                table.updateValue(endpoint, forKey: key(group, invitation.rank)) == nil
            }
            guard inserted else { throw CollectiveError.rendezvousFailed(group: group, reason: "rank \(invitation.rank) joined twice") }
            let registered = address
            let addresses = try await withTimeout(invitation) {
                try await endpoint.meet(invitation, address: registered, inDriverProcess: inDriverProcess)
            }
            try await withTimeout(invitation) {
                try await endpoint.connect(addresses, chunkBytes: invitation.chunkBytes, sharedMemory: invitation.sharedMemory)
            }
            return endpoint
        } catch {
            await endpoint.close()
            throw error
        }
    }

    /// Runs `body`, failing with a timeout once the invitation's time is up.
    static func withTimeout<R: Sendable>(_ invitation: CollectiveInvitation, _ body: @escaping @Sendable () async throws -> R)
        async throws -> R
    {
        try await withThrowingTaskGroup(of: R?.self) { tasks in
            tasks.addTask { try await body() }
            tasks.addTask {
                try await Task.sleep(for: .milliseconds(invitation.timeoutMilliseconds))
                return nil
            }
            defer { tasks.cancelAll() }
            guard let first = try await tasks.next(), let value = first else {
                throw CollectiveError.rendezvousTimedOut(group: invitation.group, arrived: 0, expected: invitation.size)
            }
            return value
        }
    }

    func start() async throws {
        guard let tcp else { return }
        try await tcp.register(Self.peer(ofRank: rank)) { [weak self] frame, source in
            self?.received(frame, from: source)
        }
        tcp.onPeerLost { [weak self] peer in self?.lost(peer) }
    }

    /// Registers at the rendezvous and waits for every rank's address.
    func meet(_ invitation: CollectiveInvitation, address: CollectiveAddress, inDriverProcess: Bool) async throws
        -> [CollectiveAddress]
    {
        if inDriverProcess {
            guard let rendezvous = Rendezvous.inThisProcess(group) else {
                throw CollectiveError.rendezvousFailed(group: group, reason: "the rendezvous is not open")
            }
            return try await rendezvous.register(rank: rank, address: address)
        }
        guard let tcp, invitation.rendezvousPort != 0 else {
            throw CollectiveError.rendezvousFailed(group: group, reason: "the driver has no rendezvous for other processes")
        }
        try await tcp.connect(host: invitation.rendezvousHost, port: invitation.rendezvousPort)
        var encoder = WireEncoder()
        encoder.writeLength(rank)
        address.encode(to: &encoder)
        let registration = WireFrame(kind: Rendezvous.Kind.register.rawValue, payload: encoder.bytes)
        let reply = OneShot<[CollectiveAddress]>()
        state.withLock { $0.rendezvousReply = reply }
        do {
            try tcp.send(registration, from: Self.peer(ofRank: rank), to: .driver)
        } catch {
            state.withLock { $0.rendezvousReply = nil }
            throw error
        }
        return try await reply.value()
    }

    /// Opens the ring: this rank's way to the next, and waits for the previous rank's
    /// connection where it comes over TCP.
    func connect(_ addresses: [CollectiveAddress], chunkBytes: Int, sharedMemory: Bool) async throws {
        guard addresses.count == size else {
            throw CollectiveError.rendezvousFailed(group: group, reason: "\(addresses.count) addresses for \(size) ranks")
        }
        let here = ProcessIdentity.current
        let next = addresses[nextRank]
        let previous = addresses[previousRank]
        if next.process == here {
            // The next rank is in this process; it registers itself before the rendezvous, so it is here.
            guard let endpoint = Self.inThisProcess.withLock({ $0[Self.key(group, nextRank)] }) else {
                throw CollectiveError.rendezvousFailed(group: group, reason: "rank \(nextRank) is not in this process")
            }
            state.withLock { $0.next = Link.inProcess(endpoint) }
        } else {
            guard let tcp, next.port != 0 else {
                throw CollectiveError.rendezvousFailed(group: group, reason: "rank \(nextRank) cannot be reached")
            }
            // One connection per pair: of two ranks, only the first connects.
            if !(size == 2 && rank == 1) {
                try await tcp.connect(host: next.host, port: next.port)
            }
            state.withLock { $0.next = Link.tcp(Self.peer(ofRank: nextRank)) }
        }
        if previous.process == here {
            guard let endpoint = Self.inThisProcess.withLock({ $0[Self.key(group, previousRank)] }) else {
                throw CollectiveError.rendezvousFailed(group: group, reason: "rank \(previousRank) is not in this process")
            }
            state.withLock { $0.previous = Link.inProcess(endpoint) }
        } else {
            state.withLock { $0.previous = Link.tcp(Self.peer(ofRank: previousRank)) }
        }
        // Wait for the connections that come in: both ends of a TCP link must see it before sending.
        var needed: Set<PeerID> = []
        if next.process != here { needed.insert(Self.peer(ofRank: nextRank)) }
        if previous.process != here { needed.insert(Self.peer(ofRank: previousRank)) }
        if let tcp {
            while !needed.isSubset(of: tcp.connectedPeers) {
                try Task.checkCancellation()
                try await Task.sleep(for: .milliseconds(2))
            }
        }
        if next.process != here && sharedMemory {
            await offerSharedSlots(to: Self.peer(ofRank: nextRank), slotBytes: CollectiveMessage.headerSize + chunkBytes)
        }
    }
}
