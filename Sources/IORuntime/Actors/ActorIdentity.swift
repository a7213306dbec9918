/// The identity of a distributed actor in a cluster.
public struct ActorIdentity: Hashable, Sendable, Codable, CustomStringConvertible, WireSerializable {
    /// The session of the cluster that created the actor.
    public let session: UInt64
    /// The actor's sequence number in its session.
    public let sequence: UInt64

    public init(session: UInt64, sequence: UInt64) {
        self.session = session
        self.sequence = sequence
    }

    public func encode(to encoder: inout WireEncoder) {
        encoder.write(session)
        encoder.write(sequence)
    }

    public init(from decoder: inout WireDecoder) throws(WireError) {
        session = try decoder.read(UInt64.self)
        sequence = try decoder.read(UInt64.self)
    }

    public var description: String { "actor-\(String(session, radix: 16))-\(sequence)" }
}

/// Options for spawning an actor.
public struct ActorOptions: Sendable {
    /// The resources the actor holds for its whole life (none by default, so that actors do not
    /// starve tasks of CPUs; ask for some to place actors by capacity).
    public var resources: ResourceSet
    /// Where the actor may live.
    public var placement: Placement
    /// A name under which ``Cluster/actor(named:as:)`` finds it; names are unique per cluster.
    public var name: String?
    /// How many times the actor is rebuilt on another worker when its worker process is lost
    /// (its state starts afresh, as in Ray); past that, calls throw ``ActorError/actorDied(_:reason:)``.
    public var maxRestarts: Int
    /// Whether calls in flight when the actor's worker is lost are sent again once it has
    /// restarted; otherwise they throw ``ActorError/callInterrupted(_:reason:)``. Set it only when
    /// the actor's methods may safely run twice.
    public var retriesCallsAfterRestart: Bool
    /// How many of the actor's calls may be under way at once (Ray's `max_concurrency`); calls
    /// beyond it wait in the actor's mailbox, in arrival order.
    ///
    /// With 1, the default, each call runs to its end before the next starts, when the cluster
    /// routes calls through the codec (as every multi-process cluster does). A larger limit lets
    /// calls that wait — for a batch to fill, for a device, for another actor — overlap: they
    /// still run on the actor's executor, one at a time between suspension points, so the
    /// actor's state stays safe. In an in-process cluster that does not route through the codec,
    /// an actor with the default limit is called directly, as any Swift actor (calls interleave
    /// at its suspension points); one with a larger limit is reached through its mailbox, so the
    /// limit holds there too.
    public var maxConcurrency: Int

    public init(
        resources: ResourceSet = [:], placement: Placement = .automatic, name: String? = nil, maxRestarts: Int = 0,
        retriesCallsAfterRestart: Bool = false, maxConcurrency: Int = 1
    ) {
        self.resources = resources
        self.placement = placement
        self.name = name
        self.maxRestarts = maxRestarts
        self.retriesCallsAfterRestart = retriesCallsAfterRestart
        self.maxConcurrency = maxConcurrency
    }
}

/// An error from a call on a distributed actor, or from spawning one.
public enum ActorError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No actor with this identity lives in the cluster.
    case notFound(ActorIdentity)
    /// No actor has this name.
    case nameNotFound(String)
    /// Another actor already has this name.
    case nameTaken(String)
    /// The actor was built by its factory with another actor system than the one given.
    case wrongSystem(String)
    /// A call could not be decoded or dispatched.
    case invocationFailed(String)
    /// The actor's worker was lost and it has no restarts left (or could not be rebuilt).
    case actorDied(ActorIdentity, reason: String)
    /// The call was in flight when the actor's worker was lost; it may or may not have run.
    case callInterrupted(ActorIdentity, reason: String)

    public var description: String {
        switch self {
        case .notFound(let id): "no actor \(id) in this cluster"
        case .nameNotFound(let name): "no actor is named \"\(name)\""
        case .nameTaken(let name): "an actor named \"\(name)\" already exists"
        case .wrongSystem(let type): "the factory for \(type) must build the actor with the system it is given"
        case .invocationFailed(let reason): "the actor call failed: \(reason)"
        case .actorDied(let id, let reason): "actor \(id) is dead: \(reason)"
        case .callInterrupted(let id, let reason): "a call to actor \(id) was interrupted: \(reason)"
        }
    }
}
