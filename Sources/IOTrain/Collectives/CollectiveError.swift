/// An error from a collective-communication group.
public enum CollectiveError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The ranks did not all reach the rendezvous in time.
    case rendezvousTimedOut(group: String, arrived: Int, expected: Int)
    /// A rank could not take part in forming the group.
    case rendezvousFailed(group: String, reason: String)
    /// The connection to a rank closed, or its process died: the group cannot continue, and every
    /// later operation on it throws this too. Form a new group with the ranks that remain.
    case peerLost(group: String, rank: Int)
    /// Another rank stopped the group (its collective failed, or it left); `reason` says why.
    /// A failure on one rank travels round the ring, so that no rank waits for data that will
    /// never come.
    case aborted(group: String, rank: Int, reason: String)
    /// The ranks called collectives that do not match: another operation, order or size.
    case mismatch(group: String, reason: String)
    /// The arguments cannot be used here (a shape that does not split, a root outside the group).
    case invalidArgument(String)
    /// The group was closed.
    case closed(group: String)
    /// A message from a peer was malformed.
    case malformedMessage(group: String, reason: String)

    public var description: String {
        switch self {
        case .rendezvousTimedOut(let group, let arrived, let expected):
            "collective group \(group): only \(arrived) of \(expected) ranks reached the rendezvous in time"
        case .rendezvousFailed(let group, let reason): "collective group \(group): forming the group failed: \(reason)"
        case .peerLost(let group, let rank): "collective group \(group): rank \(rank) was lost"
        case .aborted(let group, let rank, let reason): "collective group \(group): rank \(rank) stopped the group: \(reason)"
        case .mismatch(let group, let reason): "collective group \(group): the ranks' calls do not match: \(reason)"
        case .invalidArgument(let reason): "invalid collective argument: \(reason)"
        case .closed(let group): "collective group \(group) is closed"
        case .malformedMessage(let group, let reason): "collective group \(group): malformed message: \(reason)"
        }
    }
}
