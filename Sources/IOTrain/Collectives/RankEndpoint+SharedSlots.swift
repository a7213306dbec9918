import IORuntime
import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

// Shared slots between neighbours on one host: the offer, the answer, and messages in slots.
extension RankEndpoint {
    /// Offers the next rank a ring of shared slots for the messages this rank sends it, and uses
    /// it when the next rank could map it (same host); otherwise messages stay on TCP.
    func offerSharedSlots(to peer: PeerID, slotBytes: Int) async {
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
    func answerSharedOffer(_ accepted: Bool) {
        state.withLock { state in
            defer { state.sharedAnswer = nil }
            return state.sharedAnswer
        }?.resume(returning: accepted)
    }

    /// The previous rank offered its shared slots: map them if possible, and say so.
    func receivedSharedOffer(_ payload: [UInt8], from source: PeerID) {
        let mapped = SharedSlots.Offer(payload).flatMap(SharedSlots.map)
        if let mapped { state.withLock { $0.inboxSlots = mapped } }
        try? tcp?.send(
            WireFrame(kind: FrameKind.sharedAnswer.rawValue, payload: [mapped == nil ? 0 : 1]), from: Self.peer(ofRank: rank), to: source)
    }

    /// The previous rank put a message in shared slot `index`: copy it out, give the slot back.
    func receivedSlot(_ payload: [UInt8], from source: PeerID) throws(CollectiveError) {
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
}
