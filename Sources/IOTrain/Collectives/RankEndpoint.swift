import IORuntime
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

    struct State {
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
    let tcp: (any NetworkTransport)?
    let state = Mutex(State())
    let logger = Logger(label: "iocompute.collectives")

    static let inThisProcess = Mutex<[String: RankEndpoint]>([:])

    var previousRank: Int { (rank + size - 1) % size }
    var nextRank: Int { (rank + 1) % size }
    static func peer(ofRank rank: Int) -> PeerID { PeerID(UInt32(rank + 1)) }

    init(group: String, rank: Int, size: Int, tcp: (any NetworkTransport)?) {
        self.group = group
        self.rank = rank
        self.size = size
        self.tcp = tcp
    }

    static func key(_ group: String, _ rank: Int) -> String { "\(group)#\(rank)" }

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
}
