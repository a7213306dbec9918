import IORuntime
import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

// Neighbours leaving, lost connections, a broken group, and closing.
extension RankEndpoint {
    /// The previous rank left the group (or its connection closed): what it sent can still be
    /// received, and waiting for more fails.
    func previousLeft() {
        inbox.fail(.peerLost(group: group, rank: previousRank), keepingQueued: true)
        if previousRank == nextRank { nextLeft() }
    }

    /// The next rank left the group: what it sent back can still be received.
    func nextLeft() {
        inboxFromNext.fail(.peerLost(group: group, rank: nextRank), keepingQueued: true)
    }

    func lost(_ peer: PeerID) {
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
