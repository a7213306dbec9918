import Distributed
import Synchronization

/// What the actor systems of one process share: which worker hosts each actor, the instances
/// hosted here, names, and the calls waiting for replies. On the driver of a multi-process
/// cluster it also routes every actor call, so that it knows which calls a lost worker leaves
/// unanswered, and restarts actors.
final class ActorHub: Sendable {
    /// Where this hub runs.
    enum Role: Equatable {
        /// The only process of an in-process cluster.
        case inProcess
        /// The driver of a multi-process cluster: it knows every actor and routes every call.
        case networkDriver
        /// A worker process: it knows the actors it hosts and sends every other call to the driver.
        case workerProcess
    }

    enum Status: Equatable {
        case starting
        case alive
        case restarting
        case dead(String)
    }

    struct Hosted {
        var worker: Int
        let typeName: String
        var instance: (any DistributedActor)?
        var name: String?
        var resources: ResourceSet
        var placement: Placement = .automatic
        var status = Status.alive
        var maxRestarts = 0
        var restarts = 0
        var retriesCalls = false
        /// How many calls may run at once (``ActorOptions/maxConcurrency``).
        var maxConcurrency = 1
        /// What the actor was built from, kept (with the object alive) to build it again.
        var arguments: SpawnArguments?
    }

    /// A call the driver forwarded to a worker and has not seen the reply to.
    struct CallKey: Hashable {
        let replyTo: PeerID
        let callID: UInt64
    }

    /// What the driver does with an actor call.
    enum Route {
        case local
        case forward(worker: Int)
        case held
        case fail(ActorError)
    }

    private struct State {
        var actors: [ActorIdentity: Hosted] = [:]
        var names: [String: ActorIdentity] = [:]
        var pending: [UInt64: OneShot<ActorReply>] = [:]
        var spawns: [ActorIdentity: OneShot<Void>] = [:]
        var inFlight: [CallKey: (worker: Int, call: ActorCall)] = [:]
        /// Calls for actors being restarted, sent once they are up.
        var held: [ActorIdentity: [ActorCall]] = [:]
    }

    let session: UInt64
    let routesThroughCodec: Bool
    let role: Role
    private let state = Mutex(State())
    private let counter = Atomic<UInt64>(0)
    /// Sends a message from a peer (`nil` once the cluster is gone).
    let router: Mutex<(any MessageSending)?>

    init(session: UInt64, role: Role, routesThroughCodec: Bool, router: any MessageSending) {
        self.session = session
        self.role = role
        self.routesThroughCodec = routesThroughCodec || role != .inProcess
        self.router = Mutex(router)
    }

    func nextSequence() -> UInt64 { counter.wrappingAdd(1, ordering: .relaxed).newValue }

    /// How many actors are alive (or being built), being restarted, and dead.
    func counts() -> ClusterStatus.Actors {
        state.withLock { state in
            var alive = 0
            var restarting = 0
            var dead = 0
            for hosted in state.actors.values {
                switch hosted.status {
                case .starting, .alive: alive += 1
                case .restarting: restarting += 1
                case .dead: dead += 1
                }
            }
            return ClusterStatus.Actors(alive: alive, restarting: restarting, dead: dead)
        }
    }

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

    func setDetails(_ id: ActorIdentity, name: String?, resources: ResourceSet, placement: Placement, maxConcurrency: Int)
        throws(ActorError)
    {
        try state.withLock { (state) throws(ActorError) in
            if let name {
                guard state.names[name] == nil else { throw .nameTaken(name) }
                state.names[name] = id
            }
            state.actors[id]?.name = name
            state.actors[id]?.resources = resources
            state.actors[id]?.placement = placement
            state.actors[id]?.maxConcurrency = maxConcurrency
        }
    }

    /// Sets how many calls an actor built on this worker process may run at once.
    func setConcurrency(_ id: ActorIdentity, _ maxConcurrency: Int) {
        state.withLock { $0.actors[id]?.maxConcurrency = maxConcurrency }
    }

    func lookup(name: String) -> ActorIdentity? { state.withLock { $0.names[name] } }

    // MARK: Calls in flight

    func awaitReply(_ callID: UInt64, send: () throws -> Void) async throws -> ActorReply {
        let reply = OneShot<ActorReply>()
        state.withLock { $0.pending[callID] = reply }
        do {
            try send()
        } catch {
            state.withLock { _ = $0.pending.removeValue(forKey: callID) }
            throw error
        }
        return try await reply.value { [weak self] in self?.state.withLock { _ = $0.pending.removeValue(forKey: callID) } }
    }

    func deliver(_ reply: ActorReply) {
        state.withLock { $0.pending.removeValue(forKey: reply.callID) }?.resume(returning: reply)
    }

    // MARK: Spawning on worker processes (driver)

    /// Records an actor about to be built on `worker` and waits until the worker says it is.
    func spawn(
        _ id: ActorIdentity, on worker: Int, typeName: String, options: ActorOptions, arguments: SpawnArguments?,
        send: () -> Void
    ) async throws {
        try state.withLock { (state) throws(ActorError) in
            if let name = options.name {
                guard state.names[name] == nil else { throw .nameTaken(name) }
                state.names[name] = id
            }
            state.actors[id] = Hosted(
                worker: worker, typeName: typeName, name: options.name, resources: options.resources, placement: options.placement,
                status: .starting, maxRestarts: options.maxRestarts, retriesCalls: options.retriesCallsAfterRestart,
                maxConcurrency: options.maxConcurrency, arguments: arguments)
        }
        let built = OneShot<Void>()
        state.withLock { $0.spawns[id] = built }
        send()
        // A cancelled spawn stops waiting; the actor may still come up and is then reachable by
        // its identity (or name) like any other.
        try await built.value { [weak self] in self?.state.withLock { _ = $0.spawns.removeValue(forKey: id) } }
    }

    /// A worker's answer to a spawn: resumes the first spawn, or ends a restart by sending the
    /// calls held meanwhile (returned with the worker to send them to).
    func spawned(_ answer: ActorSpawned) -> (calls: [ActorCall], worker: Int, failed: [ActorCall]) {
        let (continuation, held, worker, failed) = state.withLock {
            state -> (OneShot<Void>?, [ActorCall], Int, [ActorCall]) in
            let continuation = state.spawns.removeValue(forKey: answer.actor)
            let held = state.held.removeValue(forKey: answer.actor) ?? []
            guard let hosted = state.actors[answer.actor] else { return (continuation, [], -1, held) }
            if let error = answer.error {
                state.actors[answer.actor]?.status = .dead("its constructor failed: \(error.message)")
                return (continuation, [], hosted.worker, held)
            }
            state.actors[answer.actor]?.status = .alive
            for call in held { state.inFlight[CallKey(replyTo: call.replyTo, callID: call.callID)] = (hosted.worker, call) }
            return (continuation, held, hosted.worker, [])
        }
        if let continuation {
            if let error = answer.error { continuation.resume(throwing: error) } else { continuation.resume() }
        }
        return (held, worker, failed)
    }

    // MARK: Routing (driver of a multi-process cluster)

    /// Where the driver sends `call`; a call that is forwarded is remembered until its reply.
    func route(_ call: ActorCall) -> Route {
        state.withLock { state in
            guard let hosted = state.actors[call.actor] else { return .fail(.notFound(call.actor)) }
            switch hosted.status {
            case .dead(let reason): return .fail(.actorDied(call.actor, reason: reason))
            case .restarting:
                state.held[call.actor, default: []].append(call)
                return .held
            case .starting, .alive:
                if hosted.worker < 0 { return .local }
                state.inFlight[CallKey(replyTo: call.replyTo, callID: call.callID)] = (hosted.worker, call)
                return .forward(worker: hosted.worker)
            }
        }
    }

    /// Forgets a forwarded call once its reply passes through the driver.
    func replied(_ reply: ActorReply) {
        _ = state.withLock { $0.inFlight.removeValue(forKey: CallKey(replyTo: reply.replyTo, callID: reply.callID)) }
    }

    /// What a lost worker leaves behind: actors to restart elsewhere, and calls to fail.
    struct Loss {
        var restart: [(id: ActorIdentity, hosted: Hosted)] = []
        var interrupted: [(call: ActorCall, error: ActorError)] = []
        var spawns: [(id: ActorIdentity, continuation: OneShot<Void>)] = []
    }

    /// Marks the actors of `worker` as restarting (while restarts are left) or dead, and collects
    /// the calls that were in flight to them: held for the restart when the actor retries calls,
    /// otherwise failed.
    func workerLost(_ worker: Int, reason: String) -> Loss {
        state.withLock { state in
            var loss = Loss()
            for (id, hosted) in state.actors where hosted.worker == worker {
                if let continuation = state.spawns.removeValue(forKey: id) {
                    // A first spawn in progress: its caller gets the error; no restart.
                    state.actors[id]?.status = .dead("worker-\(worker + 1) was lost while it was being built")
                    loss.spawns.append((id, continuation))
                } else if case .alive = hosted.status, hosted.restarts < hosted.maxRestarts {
                    state.actors[id]?.status = .restarting
                    state.actors[id]?.restarts += 1
                    loss.restart.append((id, state.actors[id]!))
                } else {
                    state.actors[id]?.status = .dead("worker-\(worker + 1) was lost (\(reason))")
                }
            }
            for (key, entry) in state.inFlight where entry.worker == worker {
                state.inFlight[key] = nil
                let hosted = state.actors[entry.call.actor]
                if hosted?.status == .restarting, hosted?.retriesCalls == true {
                    state.held[entry.call.actor, default: []].append(entry.call)
                } else {
                    loss.interrupted.append(
                        (entry.call, .callInterrupted(entry.call.actor, reason: "worker-\(worker + 1) was lost (\(reason))")))
                }
            }
            return loss
        }
    }

    /// Moves a restarting actor to `worker`.
    func relocate(_ id: ActorIdentity, to worker: Int) {
        state.withLock { $0.actors[id]?.worker = worker }
    }

    /// Marks a restarting actor dead (no worker could take it) and returns the calls held for it.
    func giveUpRestart(_ id: ActorIdentity, reason: String) -> [ActorCall] {
        state.withLock { state in
            state.actors[id]?.status = .dead(reason)
            return state.held.removeValue(forKey: id) ?? []
        }
    }

    /// Fails every call in flight (at shutdown) and forgets every actor.
    func close() {
        // The instances are released after the lock: an actor's deinit calls `resignID`, which
        // takes this lock again.
        let (waiting, spawns, actors) = state.withLock {
            state -> ([OneShot<ActorReply>], [OneShot<Void>], [ActorIdentity: Hosted]) in
            let pending = Array(state.pending.values)
            let spawns = Array(state.spawns.values)
            let actors = state.actors
            state = State()
            return (pending, spawns, actors)
        }
        for continuation in waiting { continuation.resume(throwing: ClusterError.shutDown) }
        for continuation in spawns { continuation.resume(throwing: ClusterError.shutDown) }
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
    /// The caller, to which the driver forwards replies that pass through it.
    let replyTo: PeerID
    let outcome: Outcome
}

/// The arguments an actor is built from: a value, or an object in the store (whose handle keeps
/// it alive while the actor may need to be built again).
enum SpawnArguments: Sendable {
    case value(Payload)
    case object(ObjectID, ObjectHandle)
}
