import Distributed
import Synchronization

/// A set of actors of one type that calls are spread over: each call goes to the least busy
/// member, no member takes more than ``maxInFlightPerActor`` calls at once (a caller waits for
/// room beyond that: back-pressure), the pool grows from ``minimumSize`` towards
/// ``maximumSize`` while every member is busy and shrinks back once members sit idle, and a member
/// that dies is replaced, the calls it lost run again on another.
///
/// ```swift
/// let pool = try await ActorPool(cluster: cluster, of: Classifier.self, size: 2...4,
///                                options: ActorOptions(resources: [.cpu: 1]))
/// let labels = try await pool.submit { classifier in try await classifier.predict(batch) }
/// ```
///
/// A call lost with its member (its worker died mid-call) runs again, up to
/// ``retriesOnMemberLoss`` times: calls given to a pool should be safe to repeat, as a batch of
/// inference is.
public final class ActorPool<Act: DistributedActor>: Sendable where Act.ActorSystem == ClusterActorSystem {
    public let cluster: Cluster
    public let minimumSize: Int
    public let maximumSize: Int
    public let maxInFlightPerActor: Int
    public let retriesOnMemberLoss: Int
    /// How long a member beyond ``minimumSize`` may sit idle before it is stopped.
    public let idleTimeout: Duration
    private let spawnMember: @Sendable () async throws -> Act

    private struct Member {
        let actor: Act
        var inFlight = 0
        var idleSince: ContinuousClock.Instant
    }

    private struct State {
        var members: [Member] = []
        var spawning = 0
        var waiters: [(id: Int, continuation: CheckedContinuation<Void, Never>)] = []
        var nextWaiter = 0
        var isShutDown = false
    }

    private let state = Mutex(State())
    private let reaper = Mutex<Task<Void, Never>?>(nil)
    private let clock = ContinuousClock()

    /// Starts a pool of `size.lowerBound` actors of `type` (registered under `typeName`, by
    /// default the type's name) spawned with `options`.
    ///
    /// - Throws: ``ClusterError/invalidConfiguration(_:)`` for an empty or negative size or a
    ///   bound below 1; the spawn's error when a first member cannot be created.
    public convenience init(
        cluster: Cluster, of type: Act.Type, registeredAs typeName: String? = nil, size: ClosedRange<Int>,
        options: ActorOptions = ActorOptions(),
        maxInFlightPerActor: Int = 1, retriesOnMemberLoss: Int = 3, idleTimeout: Duration = .seconds(30)
    ) async throws {
        let name = typeName ?? String(reflecting: type)
        try await self.init(
            cluster: cluster, size: size, maxInFlightPerActor: maxInFlightPerActor, retriesOnMemberLoss: retriesOnMemberLoss,
            idleTimeout: idleTimeout
        ) { try await cluster.spawn(type, registeredAs: name, options: options) }
    }

    /// Starts a pool of `size.lowerBound` actors of `type`, each built from `arguments` (see
    /// ``Cluster/spawn(_:registeredAs:with:options:)``): put a model's weights in the object store
    /// once and every member, the ones the pool grows by and the replacements included, loads
    /// them from there.
    ///
    /// - Throws: as ``init(cluster:of:registeredAs:size:options:maxInFlightPerActor:retriesOnMemberLoss:idleTimeout:)``.
    public convenience init<Input: TaskArgumentConvertible>(
        cluster: Cluster, of type: Act.Type, registeredAs typeName: String? = nil, with arguments: Input, size: ClosedRange<Int>,
        options: ActorOptions = ActorOptions(),
        maxInFlightPerActor: Int = 1, retriesOnMemberLoss: Int = 3, idleTimeout: Duration = .seconds(30)
    ) async throws {
        try await self.init(
            cluster: cluster, size: size, maxInFlightPerActor: maxInFlightPerActor, retriesOnMemberLoss: retriesOnMemberLoss,
            idleTimeout: idleTimeout
        ) { try await cluster.spawn(type, registeredAs: typeName, with: arguments, options: options) }
    }

    private init(
        cluster: Cluster, size: ClosedRange<Int>, maxInFlightPerActor: Int, retriesOnMemberLoss: Int, idleTimeout: Duration,
        spawnMember: @escaping @Sendable () async throws -> Act
    ) async throws {
        guard size.lowerBound >= 1 else {
            throw ClusterError.invalidConfiguration("an actor pool needs at least one member, not \(size.lowerBound)")
        }
        guard maxInFlightPerActor >= 1 else {
            throw ClusterError.invalidConfiguration("maxInFlightPerActor must be at least 1, not \(maxInFlightPerActor)")
        }
        guard retriesOnMemberLoss >= 0 else { throw ClusterError.invalidConfiguration("retriesOnMemberLoss cannot be negative") }
        self.cluster = cluster
        minimumSize = size.lowerBound
        maximumSize = size.upperBound
        self.maxInFlightPerActor = maxInFlightPerActor
        self.retriesOnMemberLoss = retriesOnMemberLoss
        self.idleTimeout = idleTimeout
        self.spawnMember = spawnMember
        for _ in 0..<minimumSize {
            let actor = try await spawnMember()
            state.withLock { $0.members.append(Member(actor: actor, idleSince: clock.now)) }
        }
        if maximumSize > minimumSize { startReaper() }
    }

    /// A pool of exactly `size` actors.
    public convenience init(
        cluster: Cluster, of type: Act.Type, registeredAs typeName: String? = nil, size: Int, options: ActorOptions = ActorOptions(),
        maxInFlightPerActor: Int = 1, retriesOnMemberLoss: Int = 3
    ) async throws {
        try await self.init(
            cluster: cluster, of: type, registeredAs: typeName, size: size...max(size, 1), options: options,
            maxInFlightPerActor: maxInFlightPerActor, retriesOnMemberLoss: retriesOnMemberLoss)
    }

    /// A pool of exactly `size` actors, each built from `arguments`.
    public convenience init<Input: TaskArgumentConvertible>(
        cluster: Cluster, of type: Act.Type, registeredAs typeName: String? = nil, with arguments: Input, size: Int,
        options: ActorOptions = ActorOptions(), maxInFlightPerActor: Int = 1, retriesOnMemberLoss: Int = 3
    ) async throws {
        try await self.init(
            cluster: cluster, of: type, registeredAs: typeName, with: arguments, size: size...max(size, 1), options: options,
            maxInFlightPerActor: maxInFlightPerActor, retriesOnMemberLoss: retriesOnMemberLoss)
    }

    /// The members now.
    public var members: [Act] { state.withLock { $0.members.map(\.actor) } }

    /// How many calls run on members now.
    public var callsInFlight: Int { state.withLock { $0.members.reduce(0) { $0 + $1.inFlight } } }

    /// Runs `call` on the least busy member, waiting while every member has
    /// ``maxInFlightPerActor`` calls and the pool cannot grow.
    ///
    /// - Throws: what `call` throws; ``ClusterError/shutDown`` once the pool is shut down;
    ///   `CancellationError` when the caller is cancelled while waiting; the member-loss error
    ///   when the call was lost more than ``retriesOnMemberLoss`` times.
    public func submit<Result: Sendable>(_ call: @Sendable (Act) async throws -> Result) async throws -> Result {
        var losses = 0
        while true {
            let actor = try await acquire()
            do {
                let result = try await call(actor)
                release(actor)
                return result
            } catch let error as ActorError where Self.isMemberLoss(error) {
                await replace(actor)
                losses += 1
                if losses > retriesOnMemberLoss { throw error }
            } catch {
                release(actor)
                throw error
            }
        }
    }

    /// Stops every member; later submissions throw ``ClusterError/shutDown``.
    public func shutdown() {
        reaper.withLock { $0?.cancel() }
        let (members, waiters) = state.withLock { state in
            state.isShutDown = true
            defer {
                state.members = []
                state.waiters = []
            }
            return (state.members.map(\.actor), state.waiters.map(\.continuation))
        }
        for actor in members { cluster.kill(actor) }
        for waiter in waiters { waiter.resume() }
    }

    // MARK: Members

    static func isMemberLoss(_ error: ActorError) -> Bool {
        switch error {
        case .actorDied, .callInterrupted, .notFound: true
        default: false
        }
    }

    private enum Choice {
        case member(Act)
        case spawn
        case wait
    }

    private func acquire() async throws -> Act {
        while true {
            try Task.checkCancellation()
            let choice = try state.withLock { state -> Choice in
                guard !state.isShutDown else { throw ClusterError.shutDown }
                let open = state.members.indices.filter { state.members[$0].inFlight < maxInFlightPerActor }
                if let least = open.min(by: { state.members[$0].inFlight < state.members[$1].inFlight }) {
                    state.members[least].inFlight += 1
                    return .member(state.members[least].actor)
                }
                if state.members.count + state.spawning < maximumSize || state.members.count + state.spawning == 0 {
                    state.spawning += 1
                    return .spawn
                }
                return .wait
            }
            switch choice {
            case .member(let actor): return actor
            case .spawn:
                do {
                    let actor = try await spawnMember()
                    let kept = state.withLock { state -> Bool in
                        state.spawning -= 1
                        guard !state.isShutDown else { return false }
                        state.members.append(Member(actor: actor, inFlight: 1, idleSince: clock.now))
                        return true
                    }
                    guard kept else {
                        cluster.kill(actor)
                        throw ClusterError.shutDown
                    }
                    return actor
                } catch {
                    let alone = state.withLock { state in
                        state.spawning -= 1
                        return state.members.isEmpty && state.spawning == 0
                    }
                    // With members left, wait for one of them; with none, the call cannot run.
                    if alone { throw error }
                    await waitForRoom()
                }
            case .wait:
                await waitForRoom()
            }
        }
    }

    /// Waits until a member has room (or the pool shuts down, or the caller is cancelled).
    ///
    /// A call may have ended between the caller finding every member full and getting here: its
    /// release found no waiter to wake. So room is looked for again under the same lock that
    /// registers the waiter, and a caller who finds some does not wait; otherwise the last calls
    /// of a burst could end while their waiters were on their way and leave them waiting for good.
    private func waitForRoom() async {
        let id = state.withLock { state -> Int in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let resumeNow = state.withLock { state -> Bool in
                    if state.isShutDown || Task.isCancelled { return true }
                    if state.members.contains(where: { $0.inFlight < maxInFlightPerActor }) { return true }
                    state.waiters.append((id, continuation))
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
                guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                return state.waiters.remove(at: index).continuation
            }
            waiter?.resume()
        }
    }

    private func release(_ actor: Act) {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if let index = state.members.firstIndex(where: { $0.actor.id == actor.id }) {
                state.members[index].inFlight -= 1
                if state.members[index].inFlight == 0 { state.members[index].idleSince = clock.now }
            }
            return state.waiters.isEmpty ? nil : state.waiters.removeFirst().continuation
        }
        waiter?.resume()
    }

    /// Takes a lost member out and, while the pool is below its minimum, puts a new one in.
    private func replace(_ actor: Act) async {
        let shortBy = state.withLock { state -> Int in
            state.members.removeAll { $0.actor.id == actor.id }
            return state.isShutDown ? 0 : max(0, minimumSize - state.members.count - state.spawning)
        }
        cluster.kill(actor)
        for _ in 0..<shortBy {
            state.withLock { $0.spawning += 1 }
            guard let spawned = try? await spawnMember() else {
                // No room for a new member now: a later call grows the pool again.
                state.withLock { $0.spawning -= 1 }
                continue
            }
            let (kept, waiter) = state.withLock { state -> (Bool, CheckedContinuation<Void, Never>?) in
                state.spawning -= 1
                guard !state.isShutDown else { return (false, nil) }
                state.members.append(Member(actor: spawned, idleSince: clock.now))
                return (true, state.waiters.isEmpty ? nil : state.waiters.removeFirst().continuation)
            }
            if !kept { cluster.kill(spawned) }
            waiter?.resume()
        }
    }

    /// Stops members beyond the minimum that have been idle for ``idleTimeout``.
    private func startReaper() {
        let task = Task { [weak self] in
            while !Task.isCancelled {
                guard let interval = self?.idleTimeout else { return }
                try? await Task.sleep(for: interval / 2)
                self?.stopIdleMembers()
            }
        }
        reaper.withLock { $0 = task }
    }

    private func stopIdleMembers() {
        let now = clock.now
        let idle = state.withLock { state -> [Act] in
            var stopped: [Act] = []
            while state.members.count > minimumSize,
                let index = state.members.firstIndex(where: { $0.inFlight == 0 && now - $0.idleSince >= idleTimeout })
            {
                stopped.append(state.members.remove(at: index).actor)
            }
            return stopped
        }
        for actor in idle { cluster.kill(actor) }
    }

    deinit { reaper.withLock { $0?.cancel() } }
}
