import IORuntime
import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

// Frames from the neighbours and the rendezvous, sorted into the inboxes.
extension RankEndpoint {
    func received(_ frame: WireFrame, from source: PeerID) {
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

    static func addresses(from frame: WireFrame, group: String) -> Result<[CollectiveAddress], any Error> {
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
}
