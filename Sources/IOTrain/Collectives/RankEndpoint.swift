import IORuntime
import IOTransportTCP
import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// One rank's end of a ring: what it receives from its neighbours, and how it reaches them —
/// directly in memory when a neighbour is in the same process, over its own authenticated TCP
/// connection otherwise. Ring collectives flow from each rank to the next; point-to-point
/// messages may also go back to the previous rank.
final class RankEndpoint: Sendable {
    /// How a neighbour is reached.
    enum Link: Sendable {
        case inProcess(RankEndpoint)
        case tcp(PeerID)
    }

    /// Which neighbour a message goes to.
    enum Direction: Sendable {
        case toNext, toPrevious
    }

    private struct State {
        var next: Link?
        var previous: Link?
        var rendezvousReply: OneShot<[CollectiveAddress]>?
        var failure: CollectiveError?
        var closed = false
        /// Shared slots to the next rank, when it could map them.
        var outbox: (slots: SharedSlots, credits: SlotCredits)?
        /// The previous rank's shared slots, mapped.
        var inboxSlots: SharedSlots?
        /// Waits for the next rank's answer to this rank's offer of shared slots.
        var sharedAnswer: OneShot<Bool>?
    }

    /// Whether messages to the next rank go through shared slots.
    var sendsThroughSharedMemory: Bool { state.withLock { $0.outbox != nil } }

    /// Slots in each rank's ring of shared slots.
    static let sharedSlotCount = 8

    let group: String
    let rank: Int
    let size: Int
    /// Messages from the previous rank: ring collectives, and point-to-point messages sent forward.
    let inbox = MessageQueue()
    /// Point-to-point messages the next rank sent back.
    let inboxFromNext = MessageQueue()
    private let tcp: TCPTransport?
    private let state = Mutex(State())
    private let logger = Logger(label: "iocompute.collectives")

    private static let inThisProcess = Mutex<[String: RankEndpoint]>([:])

    var previousRank: Int { (rank + size - 1) % size }
    var nextRank: Int { (rank + 1) % size }
    static func peer(ofRank rank: Int) -> PeerID { PeerID(UInt32(rank + 1)) }

    private init(group: String, rank: Int, size: Int, tcp: TCPTransport?) {
        self.group = group
        self.rank = rank
        self.size = size
        self.tcp = tcp
    }

    private static func key(_ group: String, _ rank: Int) -> String { "\(group)#\(rank)" }

    /// Joins the ring of `invitation`'s group: registers at the rendezvous, connects to the
    /// neighbours, and returns once both directions are open.
    static func join(_ invitation: CollectiveInvitation) async throws -> RankEndpoint {
        let group = invitation.group
        let inDriverProcess = invitation.rendezvousProcess == ProcessIdentity.current
        // A rank listens when it can be reached from other processes.
        var tcp: TCPTransport?
        var address = CollectiveAddress(process: ProcessIdentity.current, host: "", port: 0)
        if let token = ClusterToken.ofThisProcess {
            // The rendezvous (as the driver) and the other ranks of the group, nobody else.
            let peers = Set([PeerID.driver] + (0..<invitation.size).map { peer(ofRank: $0) })
            let transport = TCPTransport(
                localPeer: peer(ofRank: invitation.rank), token: token.derived(for: Rendezvous.tokenPurpose(group)), expectedPeers: peers)
            let host = invitation.rendezvousHost.isEmpty ? "127.0.0.1" : invitation.rendezvousHost
            address.host = host
            address.port = try await transport.listen(host: host, port: 0)
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
    private static func withTimeout<R: Sendable>(_ invitation: CollectiveInvitation, _ body: @escaping @Sendable () async throws -> R)
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

    private func start() async throws {
        guard let tcp else { return }
        try await tcp.register(Self.peer(ofRank: rank)) { [weak self] frame, source in
            self?.received(frame, from: source)
        }
        tcp.onPeerLost { [weak self] peer in self?.lost(peer) }
    }

    /// Registers at the rendezvous and waits for every rank's address.
    private func meet(_ invitation: CollectiveInvitation, address: CollectiveAddress, inDriverProcess: Bool) async throws
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
    private func connect(_ addresses: [CollectiveAddress], chunkBytes: Int, sharedMemory: Bool) async throws {
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

    /// Offers the next rank a ring of shared slots for the messages this rank sends it, and uses
    /// it when the next rank could map it (same host); otherwise messages stay on TCP.
    private func offerSharedSlots(to peer: PeerID, slotBytes: Int) async {
        guard let tcp, let slots = SharedSlots.create(slotCount: Self.sharedSlotCount, slotBytes: slotBytes) else { return }
        let offer = SharedSlots.Offer(
            process: getpid(), descriptor: slots.descriptor, slotCount: slots.slotCount, slotBytes: slotBytes, tag: slots.tag)
        let answer = OneShot<Bool>()
        let failed = state.withLock { state -> Bool in
            guard state.failure == nil else { return true }
            state.sharedAnswer = answer
            return false
        }
        if failed { return }
        do {
            try tcp.send(WireFrame(kind: FrameKind.sharedOffer.rawValue, payload: offer.bytes), from: Self.peer(ofRank: rank), to: peer)
        } catch {
            answerSharedOffer(false)
        }
        // Cancelled while waiting: the slots are not used (messages stay on TCP).
        let accepted = (try? await answer.value()) ?? false
        if accepted { state.withLock { $0.outbox = (slots, SlotCredits(slotCount: slots.slotCount)) } }
    }

    /// Ends the wait for the next rank's answer.
    private func answerSharedOffer(_ accepted: Bool) {
        state.withLock { state in
            defer { state.sharedAnswer = nil }
            return state.sharedAnswer
        }?.resume(returning: accepted)
    }

    /// The previous rank offered its shared slots: map them if possible, and say so.
    private func receivedSharedOffer(_ payload: [UInt8], from source: PeerID) {
        let mapped = SharedSlots.Offer(payload).flatMap(SharedSlots.map)
        if let mapped { state.withLock { $0.inboxSlots = mapped } }
        try? tcp?.send(
            WireFrame(kind: FrameKind.sharedAnswer.rawValue, payload: [mapped == nil ? 0 : 1]), from: Self.peer(ofRank: rank), to: source)
    }

    /// The previous rank put a message in shared slot `index`: copy it out, give the slot back.
    private func receivedSlot(_ payload: [UInt8], from source: PeerID) throws(CollectiveError) {
        var decoder = WireDecoder(payload)
        guard let index = try? decoder.read(UInt32.self), let length = try? decoder.read(UInt32.self),
            let slots = state.withLock({ $0.inboxSlots }), Int(index) < slots.slotCount, Int(length) <= slots.slotBytes
        else {
            throw .malformedMessage(group: group, reason: "a shared-slot notice \(payload) that does not fit the slots")
        }
        let bytes = Array(UnsafeRawBufferPointer(start: slots.slot(Int(index)), count: Int(length)))
        var freed = WireEncoder()
        freed.write(index)
        try? tcp?.send(WireFrame(kind: FrameKind.slotFreed.rawValue, payload: freed.bytes), from: Self.peer(ofRank: rank), to: source)
        inbox.put(try CollectiveMessage(decoding: bytes, group: group))
    }

    // MARK: Messages

    /// Sends a message received from the previous rank on to the next.
    func send(_ message: CollectiveMessage) async throws {
        try await send(
            length: message.bytes.count,
            copy: { target in message.bytes.withUnsafeBytes { target.copyMemory(from: $0.baseAddress!, byteCount: $0.count) } },
            make: { message },
            write: { tcp, peer, source in
                try message.bytes.withUnsafeBytes { raw in
                    try tcp.send(kind: FrameKind.message.rawValue, payload: [raw], from: source, to: peer)
                }
            })
    }

    /// Sends a chunk of elements to the next rank (or the previous one), waiting while its
    /// connection is full. Over TCP the elements are copied once, straight into the connection's
    /// buffer.
    func send(
        sequence: UInt64, step: Int, chunk: Int, operation: CollectiveOperation, elementSize: Int, elements: UnsafeRawBufferPointer,
        direction: Direction = .toNext
    ) async throws {
        try await send(
            sequence: sequence, step: step, chunk: chunk, operation: operation, elementSize: elementSize, byteCount: elements.count,
            direction: direction, withElements: { body in body(elements) })
    }

    /// ``send(sequence:step:chunk:operation:elementSize:elements:direction:)`` for elements that
    /// are reachable only inside a closure (a tensor's storage): `withElements` hands its
    /// `byteCount` bytes to the body it is given, at the moment they are copied.
    func send(
        sequence: UInt64, step: Int, chunk: Int, operation: CollectiveOperation, elementSize: Int, byteCount: Int,
        direction: Direction = .toNext, withElements: ((UnsafeRawBufferPointer) -> Void) -> Void
    ) async throws {
        let header = CollectiveMessage.header(sequence: sequence, step: step, chunk: chunk, operation: operation, elementSize: elementSize)
        try await send(
            direction,
            length: CollectiveMessage.headerSize + byteCount,
            copy: { target in
                header.withUnsafeBytes { target.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
                withElements { elements in
                    if let base = elements.baseAddress {
                        (target + CollectiveMessage.headerSize).copyMemory(from: base, byteCount: elements.count)
                    }
                }
            },
            make: {
                var message: CollectiveMessage?
                withElements { elements in
                    message = CollectiveMessage(
                        sequence: sequence, step: step, chunk: chunk, operation: operation, elementSize: elementSize, elements: elements)
                }
                return message!
            },
            write: { tcp, peer, source in
                var failure: (any Error)?
                header.withUnsafeBytes { head in
                    withElements { elements in
                        do {
                            try tcp.send(kind: FrameKind.message.rawValue, payload: [head, elements], from: source, to: peer)
                        } catch {
                            failure = error
                        }
                    }
                }
                if let failure { throw failure }
            })
    }

    /// Hands a message to a neighbour in process (`make`), puts it in a shared slot (`copy`, the
    /// message's `length` bytes) and announces it, or writes it to the neighbour's connection.
    private func send(
        _ direction: Direction = .toNext, length: Int, copy: (UnsafeMutableRawPointer) -> Void, make: () -> CollectiveMessage,
        write: (TCPTransport, _ to: PeerID, _ from: PeerID) throws -> Void
    ) async throws {
        let (link, failure, outbox) = state.withLock {
            ($0.failure == nil ? (direction == .toNext ? $0.next : $0.previous) : nil, $0.failure, direction == .toNext ? $0.outbox : nil)
        }
        if let failure { throw failure }
        if case .tcp(let peer) = link, let outbox, length <= outbox.slots.slotBytes, let tcp {
            let index = try await outbox.credits.take()
            copy(outbox.slots.slot(index))
            var notice = WireEncoder()
            notice.write(UInt32(index))
            notice.write(UInt32(length))
            do {
                try tcp.send(WireFrame(kind: FrameKind.slotFilled.rawValue, payload: notice.bytes), from: Self.peer(ofRank: rank), to: peer)
            } catch {
                throw state.withLock { $0.failure } ?? .peerLost(group: group, rank: nextRank)
            }
            return
        }
        switch link {
        case .inProcess(let endpoint):
            // Forward messages land in the neighbour's inbox from its previous rank, backward ones
            // in its inbox from its next.
            (direction == .toNext ? endpoint.inbox : endpoint.inboxFromNext).put(make())
        case .tcp(let peer):
            guard let tcp else { throw CollectiveError.closed(group: group) }
            do {
                try await tcp.waitUntilWritable(to: peer)
                try write(tcp, peer, Self.peer(ofRank: rank))
            } catch {
                throw state.withLock { $0.failure } ?? .peerLost(group: group, rank: direction == .toNext ? nextRank : previousRank)
            }
        case nil: throw CollectiveError.closed(group: group)
        }
    }

    /// The next message from the previous rank. When that rank left, its last messages still
    /// arrive; a message it never sent breaks the group.
    func receive(fromNext: Bool = false) async throws -> CollectiveMessage {
        do {
            return try await (fromNext ? inboxFromNext : inbox).take()
        } catch let error as CollectiveError {
            breakGroup(error)
            throw error
        }
    }

    /// The previous rank left the group (or its connection closed): what it sent can still be
    /// received, and waiting for more fails.
    private func previousLeft() {
        inbox.fail(.peerLost(group: group, rank: previousRank), keepingQueued: true)
        if previousRank == nextRank { nextLeft() }
    }

    /// The next rank left the group: what it sent back can still be received.
    private func nextLeft() {
        inboxFromNext.fail(.peerLost(group: group, rank: nextRank), keepingQueued: true)
    }

    private func received(_ frame: WireFrame, from source: PeerID) {
        if source == .driver {
            let reply = state.withLock { state in
                defer { state.rendezvousReply = nil }
                return state.rendezvousReply
            }
            reply?.resume(with: Self.addresses(from: frame, group: group))
            return
        }
        let fromPrevious = source == Self.peer(ofRank: previousRank)
        let fromNext = source == Self.peer(ofRank: nextRank)
        guard fromPrevious || fromNext else {
            logger.warning("[IOTrain] collective group \(group): rank \(rank) dropped a message from \(source), not a neighbour")
            return
        }
        switch FrameKind(rawValue: frame.kind) {
        case .sharedOffer where fromPrevious:
            return receivedSharedOffer(frame.payload, from: source)
        case .sharedAnswer where fromNext:
            return answerSharedOffer(frame.payload == [1])
        case .slotFreed where fromNext:
            var decoder = WireDecoder(frame.payload)
            if let index = try? decoder.read(UInt32.self), let outbox = state.withLock({ $0.outbox }), Int(index) < outbox.slots.slotCount {
                outbox.credits.give(Int(index))
            }
            return
        case .slotFilled where fromPrevious:
            do {
                try receivedSlot(frame.payload, from: source)
            } catch {
                breakGroup(error)
            }
            return
        default:
            break
        }
        if frame.kind == FrameKind.abort.rawValue {
            // Failures travel forward round the ring, so they come from the previous rank.
            guard fromPrevious else { return }
            var decoder = WireDecoder(frame.payload)
            let reason = (try? decoder.read(String.self)) ?? "no reason given"
            breakGroup(.aborted(group: group, rank: previousRank, reason: reason))
            return
        }
        do {
            let message = try CollectiveMessage(decoding: frame.payload, group: group)
            if message.operation == .sendToPrevious {
                guard fromNext else {
                    throw CollectiveError.malformedMessage(group: group, reason: "a backward message from rank \(previousRank)")
                }
                inboxFromNext.put(message)
            } else {
                guard fromPrevious else {
                    throw CollectiveError.malformedMessage(group: group, reason: "a \(message.operation) message from rank \(nextRank)")
                }
                inbox.put(message)
            }
        } catch {
            breakGroup(error as? CollectiveError ?? .malformedMessage(group: group, reason: "\(error)"))
        }
    }

    private static func addresses(from frame: WireFrame, group: String) -> Result<[CollectiveAddress], any Error> {
        if frame.kind == Rendezvous.Kind.failed.rawValue {
            return .failure(CollectiveError.rendezvousFailed(group: group, reason: String(decoding: frame.payload, as: UTF8.self)))
        }
        do {
            var decoder = WireDecoder(frame.payload)
            let count = try decoder.readLength()
            guard count <= 1 << 16 else { throw WireError.invalid(what: "rendezvous reply", reason: "\(count) ranks") }
            return .success(try (0..<count).map { _ in try CollectiveAddress(from: &decoder) })
        } catch {
            return .failure(CollectiveError.rendezvousFailed(group: group, reason: "malformed reply: \(error)"))
        }
    }

    private func lost(_ peer: PeerID) {
        if peer == .driver {
            // The rendezvous closing is expected once the group is formed; before, it is a failure.
            let reply = state.withLock { state in
                defer { state.rendezvousReply = nil }
                return state.rendezvousReply
            }
            reply?.resume(throwing: CollectiveError.rendezvousFailed(group: group, reason: "the rendezvous closed"))
            return
        }
        let rank = Int(peer.rawValue) - 1
        // A lost previous rank may have left after sending its last messages; they stay
        // receivable. Without the next rank, nothing more can be sent (with two ranks, the first
        // send says so).
        if rank == nextRank {
            // Nothing more can go into its slots, and no slot comes back.
            state.withLock { $0.outbox }?.credits.fail(.peerLost(group: group, rank: rank))
            answerSharedOffer(false)
        }
        if rank == previousRank {
            previousLeft()
        } else if rank == nextRank {
            breakGroup(.peerLost(group: group, rank: rank))
        }
    }

    /// Frame kinds between ranks.
    enum FrameKind: UInt16 {
        /// A ``CollectiveMessage``.
        case message = 0xC1_00
        /// The sender's group broke; the payload is the reason (a wire string).
        case abort = 0xC1_01
        /// sender → next rank: a ring of shared slots it may map (``SharedSlots/Offer``).
        case sharedOffer = 0xC1_02
        /// next rank → sender: whether it mapped them (one byte, 1 or 0).
        case sharedAnswer = 0xC1_03
        /// sender → next rank: a message is in slot (UInt32) of length (UInt32).
        case slotFilled = 0xC1_04
        /// next rank → sender: slot (UInt32) is free again.
        case slotFreed = 0xC1_05
    }

    /// Fails this rank's pending and later operations with `error`, and tells the next rank,
    /// which tells its next: the failure goes round the ring once.
    func breakGroup(_ error: CollectiveError) {
        let (first, next) = state.withLock { state -> (Bool, Link?) in
            guard state.failure == nil else { return (false, nil) }
            state.failure = error
            return (true, state.next)
        }
        inbox.fail(error)
        inboxFromNext.fail(error)
        state.withLock { $0.outbox }?.credits.fail(error)
        answerSharedOffer(false)
        guard first, size > 1 else { return }
        let reason: String
        if case .aborted(_, _, let original) = error { reason = original } else { reason = error.description }
        switch next {
        case .inProcess(let endpoint): endpoint.breakGroup(.aborted(group: group, rank: rank, reason: reason))
        case .tcp(let peer):
            var encoder = WireEncoder()
            encoder.write(reason)
            try? tcp?.send(WireFrame(kind: FrameKind.abort.rawValue, payload: encoder.bytes), from: Self.peer(ofRank: rank), to: peer)
        case nil: break
        }
    }

    /// The failure that broke the group, if one did.
    var failure: CollectiveError? { state.withLock { $0.failure } }

    /// Leaves the group: closes the connections and fails what is pending here. The next rank
    /// still receives what this one sent before leaving.
    func close() async {
        let (first, next, previous) = state.withLock { state -> (Bool, Link?, Link?) in
            defer { state.closed = true }
            if state.failure == nil { state.failure = .closed(group: group) }
            return (!state.closed, state.next, state.previous)
        }
        guard first else { return }
        inbox.fail(.closed(group: group))
        inboxFromNext.fail(.closed(group: group))
        state.withLock { $0.outbox }?.credits.fail(.closed(group: group))
        answerSharedOffer(false)
        if case .inProcess(let endpoint) = next, size > 1 { endpoint.previousLeft() }
        if case .inProcess(let endpoint) = previous, size > 2 { endpoint.nextLeft() }
        _ = Self.inThisProcess.withLock { $0.removeValue(forKey: Self.key(group, rank)) }
        await tcp?.shutdown()
    }
}
