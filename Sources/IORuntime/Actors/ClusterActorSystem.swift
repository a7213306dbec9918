import Distributed
import Synchronization

/// The `DistributedActorSystem` of IOCompute clusters: `distributed actor`s whose `ActorSystem`
/// is this type live on the cluster's workers, and calls on them travel as binary
/// ``WireSerializable`` messages.
///
/// ```swift
/// distributed actor Counter {
///     typealias ActorSystem = ClusterActorSystem
///     var value = 0
///     distributed func add(_ n: Int) -> Int { value += n; return value }
/// }
/// let registry = Registry().actor(Counter.self) { system in Counter(actorSystem: system) }
/// let counter = try await cluster.spawn(Counter.self)
/// let total = try await counter.add(5)
/// ```
///
/// Each worker (and the driver) has its own system. In a plain in-process cluster a reference is
/// the actor itself and a call is a local call. When the cluster routes through the codec — as a
/// multi-process cluster must — references elsewhere are proxies: a call records its arguments and
/// generic substitutions, travels to the worker that hosts the actor, runs there in arrival order
/// (one call at a time by default, so calls from one caller run in the order made; up to
/// ``ActorOptions/maxConcurrency`` at once when the actor allows more), and its result or thrown
/// error travels back.
public final class ClusterActorSystem: DistributedActorSystem, Sendable {
    public typealias ActorID = ActorIdentity
    public typealias SerializationRequirement = WireSerializable
    public typealias InvocationEncoder = ClusterInvocationEncoder
    public typealias InvocationDecoder = ClusterInvocationDecoder
    public typealias ResultHandler = ClusterResultHandler

    /// The system of the worker running the current task or actor call; actor references decoded
    /// from the wire resolve against it.
    @TaskLocal public static var current: ClusterActorSystem?

    /// The identity the driver chose for an actor a worker process is building.
    @TaskLocal static var presetIdentity: ActorIdentity?

    let hub: ActorHub
    /// The worker this system belongs to, or `nil` for the driver.
    let worker: Int?
    private let mailboxes = Mutex<[ActorIdentity: AsyncStream<ActorCall>.Continuation]>([:])
    /// Where a worker process's mailboxes live: the thread that delivers the driver's frames, so
    /// that short calls (``InlineCallPolicy``) run and answer there. `nil`: the shared pool.
    private let deliveryExecutor = Mutex<(@Sendable () -> (any TaskExecutor)?)?>(nil)
    private let inlinePolicy = InlineCallPolicy()
    /// Where refs decoded by this system borrow their objects from (see ``BorrowedRef``).
    let lenderBox = Mutex(WeakLender())

    init(hub: ActorHub, worker: Int?) {
        self.hub = hub
        self.worker = worker
    }

    var peer: PeerID { worker.map { PeerID(UInt32($0 + 1)) } ?? .driver }

    static func peer(ofWorker worker: Int) -> PeerID { worker < 0 ? .driver : PeerID(UInt32(worker + 1)) }

    // MARK: Identities

    public func resolve<Act>(id: ActorIdentity, as actorType: Act.Type) throws -> Act?
    where Act: DistributedActor, Act.ID == ActorIdentity {
        guard let hosted = hub.hosted(id) else {
            // A worker process knows only the actors it hosts; others are reached through the driver.
            if hub.role == .workerProcess { return nil }
            throw ActorError.notFound(id)
        }
        // Through the codec, and for an actor whose calls may overlap (its mailbox bounds them),
        // references on other workers are proxies.
        if (hub.routesThroughCodec || hosted.maxConcurrency > 1) && (hosted.worker != (worker ?? -1) || hosted.instance == nil) {
            return nil
        }
        return hosted.instance as? Act
    }

    public func assignID<Act>(_ actorType: Act.Type) -> ActorIdentity where Act: DistributedActor, Act.ID == ActorIdentity {
        let id = Self.presetIdentity ?? ActorIdentity(session: hub.session, sequence: hub.nextSequence())
        hub.assign(id, worker: worker ?? -1, typeName: String(reflecting: actorType))
        return id
    }

    public func actorReady<Act>(_ actor: Act) where Act: DistributedActor, Act.ID == ActorIdentity {
        hub.ready(actor.id, instance: actor)
    }

    public func resignID(_ id: ActorIdentity) {
        _ = hub.resign(id)
        mailboxes.withLock { $0.removeValue(forKey: id) }?.finish()
    }

    public func makeInvocationEncoder() -> ClusterInvocationEncoder { ClusterInvocationEncoder() }

    // MARK: Calling

    public func remoteCall<Act, Err, Res>(
        on actor: Act, target: RemoteCallTarget, invocation: inout ClusterInvocationEncoder, throwing: Err.Type,
        returning: Res.Type
    ) async throws -> Res where Act: DistributedActor, Act.ID == ActorIdentity, Err: Error, Res: WireSerializable {
        switch try await call(actor.id, target, invocation).outcome {
        case .value(let payload): return try Self.$current.withValue(self) { try payload.value(as: Res.self) }
        case .void: throw ActorError.invocationFailed("\(target.identifier) returned nothing where \(Res.self) was expected")
        case .thrown(let error): throw error.underlying as? ActorError ?? error
        }
    }

    public func remoteCallVoid<Act, Err>(
        on actor: Act, target: RemoteCallTarget, invocation: inout ClusterInvocationEncoder, throwing: Err.Type
    ) async throws where Act: DistributedActor, Act.ID == ActorIdentity, Err: Error {
        if case .thrown(let error) = try await call(actor.id, target, invocation).outcome { throw error.underlying as? ActorError ?? error }
    }

    private func call(_ id: ActorIdentity, _ target: RemoteCallTarget, _ invocation: ClusterInvocationEncoder) async throws -> ActorReply {
        // In process, a call goes straight to the host; in a multi-process cluster every call goes
        // to the driver, which knows where each actor lives and what to do when its worker is lost.
        let destination: PeerID
        if hub.role == .inProcess {
            guard let hosted = hub.hosted(id) else { throw ActorError.notFound(id) }
            destination = Self.peer(ofWorker: hosted.worker)
        } else {
            destination = .driver
        }
        let call = ActorCall(
            callID: hub.nextSequence(), replyTo: peer, actor: id, target: target.identifier,
            genericSubstitutions: invocation.substitutions, arguments: invocation.arguments)
        // Across processes, calls go at the pace the connection to the actor's process drains,
        // so that a caller firing many calls at a slow actor does not fill memory with them.
        if hub.role != .inProcess, let router = hub.router.withLock({ $0 }) {
            let next = hub.role == .networkDriver ? hub.hosted(id).map { Self.peer(ofWorker: $0.worker) } ?? .driver : .driver
            // A connection that is gone is not this call's error: the hub answers it (actor died,
            // call interrupted) once the call is sent.
            try? await router.waitUntilWritable(to: next)
        }
        // The arguments stay alive until the reply: a borrowed ref among them keeps its object.
        defer { withExtendedLifetime(call) {} }
        return try await hub.awaitReply(call.callID) {
            guard let router = hub.router.withLock({ $0 }) else { throw ClusterError.shutDown }
            router.send(.actorCall(call), from: peer, to: destination)
        }
    }

    // MARK: Hosting

    /// Makes the mailboxes opened from now on live on the executor `executor` returns then, if
    /// any (see ``InlineCallPolicy``).
    func deliverCalls(on executor: @escaping @Sendable () -> (any TaskExecutor)?) {
        deliveryExecutor.withLock { $0 = executor }
    }

    /// Queues a call for the actor it targets; each actor starts its calls in arrival order, and
    /// runs one at a time or up to its ``ActorOptions/maxConcurrency``.
    func host(_ call: ActorCall) {
        let limit = hub.hosted(call.actor)?.maxConcurrency ?? 1
        let continuation = mailboxes.withLock { mailboxes -> AsyncStream<ActorCall>.Continuation in
            if let existing = mailboxes[call.actor] { return existing }
            let (stream, continuation) = AsyncStream<ActorCall>.makeStream()
            mailboxes[call.actor] = continuation
            if limit > 1 {
                Task { [self] in await run(stream, atMost: limit) }
            } else if let executor = deliveryExecutor.withLock({ $0 })?() {
                Task(executorPreference: executor) { [self] in
                    for await queued in stream {
                        if inlinePolicy.runsInline(queued.target) {
                            await execute(queued, inline: true)
                        } else {
                            await withTaskExecutorPreference(globalConcurrentExecutor) { await self.execute(queued, inline: false) }
                        }
                    }
                }
            } else {
                Task { [self] in
                    for await queued in stream { await self.execute(queued) }
                }
            }
            return continuation
        }
        continuation.yield(call)
    }

    /// Runs the calls of one mailbox, starting each in arrival order while fewer than `limit` run.
    private func run(_ stream: AsyncStream<ActorCall>, atMost limit: Int) async {
        await withTaskGroup(of: Void.self) { group in
            // Calls started and not yet collected; a finished one is collected when the limit is hit.
            var started = 0
            for await queued in stream {
                if started == limit {
                    await group.next()
                    started -= 1
                }
                group.addTask { [self] in await execute(queued) }
                started += 1
            }
        }
    }

    /// Runs `call`, timing it for the ``InlineCallPolicy`` when the system has a delivery executor.
    private func execute(_ call: ActorCall, inline: Bool) async {
        let start = ContinuousClock.now
        await execute(call)
        inlinePolicy.record(call.target, took: ContinuousClock.now - start, inline: inline)
    }

    private func execute(_ call: ActorCall) async {
        let handler = ClusterResultHandler(call: call, system: self)
        guard let instance = hub.hosted(call.actor)?.instance else {
            handler.reply(.thrown(TaskError(taskName: call.target, thrown: ActorError.notFound(call.actor))))
            return
        }
        await ClusterActorSystem.$current.withValue(self) {
            var decoder = ClusterInvocationDecoder(call: call)
            do {
                try await executeDistributedTarget(
                    on: instance, target: RemoteCallTarget(call.target), invocationDecoder: &decoder, handler: handler)
            } catch {
                handler.reply(.thrown(TaskError(taskName: call.target, thrown: error)))
            }
        }
    }

    func closeMailboxes() {
        for continuation in mailboxes.withLock({ mailboxes in
            defer { mailboxes = [:] }; return Array(mailboxes.values)
        }) {
            continuation.finish()
        }
    }
}

/// Records a call's generic substitutions and arguments.
public struct ClusterInvocationEncoder: DistributedTargetInvocationEncoder {
    public typealias SerializationRequirement = WireSerializable
    var substitutions: [String] = []
    var arguments: [Payload] = []

    public mutating func recordGenericSubstitution<T>(_ type: T.Type) throws {
        substitutions.append(_mangledTypeName(type) ?? String(reflecting: type))
    }

    public mutating func recordArgument<Value: WireSerializable>(_ argument: RemoteCallArgument<Value>) throws {
        arguments.append(.value(argument.value))
    }

    public mutating func recordErrorType<E: Error>(_ type: E.Type) throws {}
    public mutating func recordReturnType<R: WireSerializable>(_ type: R.Type) throws {}
    public mutating func doneRecording() throws {}
}

/// Reads a call's generic substitutions and arguments on the worker that hosts the actor.
public struct ClusterInvocationDecoder: DistributedTargetInvocationDecoder {
    public typealias SerializationRequirement = WireSerializable
    let call: ActorCall
    var next = 0

    init(call: ActorCall) { self.call = call }

    public mutating func decodeGenericSubstitutions() throws -> [Any.Type] {
        try call.genericSubstitutions.map { name in
            guard let type = _typeByName(name) else { throw ActorError.invocationFailed("unknown generic type \(name)") }
            return type
        }
    }

    public mutating func decodeNextArgument<Argument: WireSerializable>() throws -> Argument {
        guard next < call.arguments.count else {
            throw ActorError.invocationFailed("\(call.target) needs more than \(call.arguments.count) arguments")
        }
        defer { next += 1 }
        return try call.arguments[next].value(as: Argument.self)
    }

    public mutating func decodeErrorType() throws -> Any.Type? { nil }
    public mutating func decodeReturnType() throws -> Any.Type? { nil }
}

/// Sends a call's outcome back to its caller.
public struct ClusterResultHandler: DistributedTargetInvocationResultHandler {
    public typealias SerializationRequirement = WireSerializable
    let call: ActorCall
    let system: ClusterActorSystem

    func reply(_ outcome: ActorReply.Outcome) {
        guard let router = system.hub.router.withLock({ $0 }) else { return }
        let destination = system.hub.role == .workerProcess ? PeerID.driver : call.replyTo
        router.send(
            .actorReply(ActorReply(callID: call.callID, replyTo: call.replyTo, outcome: outcome)), from: system.peer, to: destination)
    }

    public func onReturn<Success: WireSerializable>(value: Success) async throws { reply(.value(.value(value))) }
    public func onReturnVoid() async throws { reply(.void) }
    public func onThrow<Err: Error>(error: Err) async throws {
        reply(.thrown(TaskError(taskName: call.target, thrown: error)))
    }
}

extension WireSerializable where Self: DistributedActor, Self.ActorSystem == ClusterActorSystem {
    /// An actor reference travels as its identity.
    public func encode(to encoder: inout WireEncoder) { id.encode(to: &encoder) }

    /// Resolves the identity against the actor system of the worker that decodes it.
    public init(from decoder: inout WireDecoder) throws(WireError) {
        let id = try ActorIdentity(from: &decoder)
        guard let system = ClusterActorSystem.current else {
            throw .invalid(what: "actor reference", reason: "decoded outside a cluster task or actor call")
        }
        do {
            self = try Self.resolve(id: id, using: system)
        } catch {
            throw .invalid(what: "actor reference", reason: "\(error)")
        }
    }
}
