import Distributed
import Synchronization

/// What the actor systems of one cluster share: which worker hosts each actor, the instances,
/// names, and the calls waiting for replies.
final class ActorHub: Sendable {
    struct Hosted {
        let worker: Int
        let typeName: String
        var instance: (any DistributedActor)?
        var name: String?
        var resources: ResourceSet
        var placement: Placement = .automatic
    }

    private struct State {
        var actors: [ActorIdentity: Hosted] = [:]
        var names: [String: ActorIdentity] = [:]
        var pending: [UInt64: CheckedContinuation<ActorReply, any Error>] = [:]
    }

    let session: UInt64
    let routesThroughCodec: Bool
    private let state = Mutex(State())
    private let counter = Atomic<UInt64>(0)
    /// Sends a message from a peer (`nil` once the cluster is gone).
    let router: Mutex<MessageRouter?>

    init(session: UInt64, routesThroughCodec: Bool, router: MessageRouter) {
        self.session = session
        self.routesThroughCodec = routesThroughCodec
        self.router = Mutex(router)
    }

    func nextSequence() -> UInt64 { counter.wrappingAdd(1, ordering: .relaxed).newValue }

    func assign(_ id: ActorIdentity, worker: Int, typeName: String) {
        state.withLock { $0.actors[id] = Hosted(worker: worker, typeName: typeName, resources: [:]) }
    }

    func ready(_ id: ActorIdentity, instance: any DistributedActor) {
        state.withLock { $0.actors[id]?.instance = instance }
    }

    func resign(_ id: ActorIdentity) -> Hosted? {
        state.withLock { state in
            guard let hosted = state.actors.removeValue(forKey: id) else { return nil }
            if let name = hosted.name { state.names[name] = nil }
            return hosted
        }
    }

    func hosted(_ id: ActorIdentity) -> Hosted? { state.withLock { $0.actors[id] } }

    func setDetails(_ id: ActorIdentity, name: String?, resources: ResourceSet, placement: Placement) throws(ActorError) {
        try state.withLock { (state) throws(ActorError) in
            if let name {
                guard state.names[name] == nil else { throw .nameTaken(name) }
                state.names[name] = id
            }
            state.actors[id]?.name = name
            state.actors[id]?.resources = resources
            state.actors[id]?.placement = placement
        }
    }

    func lookup(name: String) -> ActorIdentity? { state.withLock { $0.names[name] } }

    // MARK: Calls in flight

    func awaitReply(_ callID: UInt64, send: () throws -> Void) async throws -> ActorReply {
        try await withCheckedThrowingContinuation { continuation in
            state.withLock { $0.pending[callID] = continuation }
            do {
                try send()
            } catch {
                if let waiting = state.withLock({ $0.pending.removeValue(forKey: callID) }) { waiting.resume(throwing: error) }
            }
        }
    }

    func deliver(_ reply: ActorReply) {
        state.withLock { $0.pending.removeValue(forKey: reply.callID) }?.resume(returning: reply)
    }

    /// Fails every call in flight (at shutdown) and forgets every actor.
    func close() {
        // The instances are released after the lock: an actor's deinit calls `resignID`, which
        // takes this lock again.
        let (waiting, actors) = state.withLock { state -> ([CheckedContinuation<ActorReply, any Error>], [ActorIdentity: Hosted]) in
            let pending = Array(state.pending.values)
            let actors = state.actors
            state.pending = [:]
            state.actors = [:]
            state.names = [:]
            return (pending, actors)
        }
        for continuation in waiting { continuation.resume(throwing: ClusterError.shutDown) }
        router.withLock { $0 = nil }
        withExtendedLifetime(actors) {}
    }
}

/// A call on an actor, as it travels to the worker that hosts it.
struct ActorCall: Sendable {
    let callID: UInt64
    let replyTo: PeerID
    let actor: ActorIdentity
    let target: String
    let genericSubstitutions: [String]
    let arguments: [Payload]
}

/// The outcome of an actor call, as it travels back to the caller.
struct ActorReply: Sendable {
    enum Outcome: Sendable {
        case value(Payload)
        case void
        case thrown(TaskError)
    }
    let callID: UInt64
    let outcome: Outcome
}
