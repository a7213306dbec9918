import IORuntime
import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

// Sending messages to a neighbour: in memory, through shared slots, or over TCP.
extension RankEndpoint {
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
    func send(
        _ direction: Direction = .toNext, length: Int, copy: (UnsafeMutableRawPointer) -> Void, make: () -> CollectiveMessage,
        write: (any NetworkTransport, _ to: PeerID, _ from: PeerID) throws -> Void
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
}
