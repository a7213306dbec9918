import Logging
import Synchronization

/// The owner side of a cluster: the object table, the task table and the scheduler, behind one
/// lock, plus the router that carries messages to workers.
///
/// Every public `Cluster` operation lands here. Methods take the lock for a state transition,
/// collect `Effects`, and perform them — messages to workers, resumed waiters — after unlocking,
/// so no user code and no message delivery ever runs under the lock.
final class ClusterCore: Sendable {
    let ids = IdentifierSource()
    let registry: Registry
    let configuration: ClusterConfiguration
    let spill: SpillStore
    let state: Mutex<CoreState>
    /// Handles whose deinit ran; drained under the main lock. A separate lock, because a handle
    /// may be released while the main lock is held (when a task record drops its inputs).
    let pendingReleases = Mutex<[ObjectID]>([])
    let router: MessageRouter
    let timeline: Timeline
    let metrics = RuntimeMetrics()
    let logger = Logger(label: "iocompute.scheduler")
    let actorHub: ActorHub
    /// The driver's actor system, then one per worker.
    let driverActorSystem: ClusterActorSystem
    let workerActorSystems: [ClusterActorSystem]
    /// Pulls objects kept by worker processes.
    let puller: ObjectPuller
    /// The segments this driver lends objects to its workers in, when they share its memory.
    let segments = SharedMemoryPool()
    /// Objects already encoded into a segment, lent again to every worker that asks.
    let exports = Mutex<[ObjectID: SharedSegment]>([:])
    /// Whether the workers run on this host and objects move through shared memory.
    let sharesMemory: Bool

    init(configuration: ClusterConfiguration, registry: Registry, link: (any ClusterLink)? = nil) throws(ClusterError) {
        try configuration.validate()
        try registry.validate()
        self.configuration = configuration
        self.registry = registry
        spill = try SpillStore(directory: configuration.spillDirectory)
        let workers = (0..<configuration.workers).map {
            WorkerSlot(id: $0, total: configuration.resourcesPerWorker, available: configuration.resourcesPerWorker)
        }
        state = Mutex(CoreState(workers: workers, routesThroughCodec: configuration.routesThroughCodec, isNetwork: link != nil))
        if let link {
            router = MessageRouter(link: link, workerCount: configuration.workers, heartbeat: configuration.heartbeat)
        } else {
            router = MessageRouter(workerCount: configuration.workers, routesThroughCodec: configuration.routesThroughCodec)
        }
        timeline = Timeline(capacity: configuration.timelineCapacity)
        sharesMemory = link?.sharesMemory ?? false
        puller = ObjectPuller(
            sharedMemory: sharesMemory,
            request: { [router] id, holder, shared in try router.trySend(.pullObject(id, sharedMemory: shared), from: .driver, to: holder)
            },
            release: { [router] segment, holder in router.send(.releaseSegment(segment), from: .driver, to: holder) },
            lenderProcess: { [link] holder in link?.processID(of: holder) })
        actorHub = ActorHub(
            session: ids.session, role: link == nil ? .inProcess : .networkDriver,
            routesThroughCodec: configuration.routesThroughCodec, router: router)
        driverActorSystem = ClusterActorSystem(hub: actorHub, worker: nil)
        // Worker processes have their own actor systems; only an in-process cluster keeps them here.
        workerActorSystems =
            link != nil ? [] : (0..<configuration.workers).map { [actorHub] in ClusterActorSystem(hub: actorHub, worker: $0) }
    }

    /// Connects the router to the workers, the actor systems and this core.
    func start() async throws {
        var systems: [PeerID: ClusterActorSystem] = [.driver: driverActorSystem]
        for system in workerActorSystems { systems[system.peer] = system }
        try await router.start(core: self, registry: registry, actorSystems: systems)
    }

    // MARK: Placement groups

    func createPlacementGroup(_ bundles: [ResourceSet], strategy: PlacementStrategy) throws(ClusterError) -> PlacementGroup {
        guard !bundles.isEmpty, bundles.allSatisfy(\.isValid) else {
            throw .unschedulable(task: "placement group", reason: "bundles must be non-empty, finite and non-negative")
        }
        let id = ids.nextSequence()
        let workers = try state.withLock { (state) throws(ClusterError) -> [Int] in
            guard !state.isShutDown else { throw .shutDown }
            guard let workers = state.reserve(bundles: bundles, strategy: strategy, group: id) else {
                throw .unschedulable(task: "placement group", reason: "\(bundles) do not fit the free resources with strategy \(strategy)")
            }
            return workers
        }
        return PlacementGroup(id: id, bundles: bundles, workers: workers)
    }

    func removePlacementGroup(_ group: PlacementGroup) {
        let effects = state.withLock { state -> Effects in
            var effects = Effects()
            state.removePlacementGroup(group.id)
            state.schedule(effects: &effects, spill: spill)
            return effects
        }
        perform(effects)
    }

    // MARK: Actor placement

    /// Picks a worker for an actor and holds `resources` there until ``releaseActor(_:worker:)``.
    func reserveActor(_ resources: ResourceSet, placement: Placement, typeName: String) throws(ClusterError) -> Int {
        try state.withLock { (state) throws(ClusterError) -> Int in
            guard !state.isShutDown else { throw .shutDown }
            let options = TaskOptions(resources: resources, placement: placement)
            guard resources.isValid, state.isSatisfiable(options) else {
                throw .unschedulable(
                    task: typeName, reason: "no worker offers \(resources) (each offers \(configuration.resourcesPerWorker))")
            }
            guard let worker = state.chooseWorker(needs: resources, placement: placement, inputs: []) else {
                throw .unschedulable(task: typeName, reason: "no worker has \(resources) free now")
            }
            state.acquire(resources, placement: placement, worker: worker)
            return worker
        }
    }

    /// Gives back an actor's resources.
    func releaseActor(_ resources: ResourceSet, placement: Placement, worker: Int) {
        let effects = state.withLock { state -> Effects in
            var effects = Effects()
            guard state.workers.indices.contains(worker) else { return effects }
            state.giveBack(resources, placement: placement, worker: worker)
            state.schedule(effects: &effects, spill: spill)
            return effects
        }
        perform(effects)
    }

    private func perform(_ effects: Effects) {
        for (waiter, result) in effects.resumptions { waiter.resume(with: result) }
        for (worker, assignment) in effects.dispatches {
            do {
                try router.trySend(.execute(assignment), toWorker: worker)
            } catch TransportError.unknownPeer(let peer) {
                // The worker's connection is gone: recovering from its loss retries the task.
                router.declareLost(peer, reason: "its connection is gone")
            } catch {
                // The assignment cannot be sent at all (larger than a frame, say): the task fails.
                complete(
                    TaskCompletion(
                        taskID: assignment.taskID, attempt: assignment.attempt, worker: worker,
                        outcome: .thrown(TaskError(taskName: assignment.functionName, thrown: error))), from: worker)
            }
        }
        for (worker, taskID) in effects.cancellations { router.send(.cancel(taskID: taskID), toWorker: worker) }
        for (id, copy) in effects.fetches {
            Task { [self] in
                do {
                    _ = try await fetch(id, copy)
                } catch {
                    // The worker was lost: the object is being rebuilt (the task waits on) or failed.
                    logger.debug("could not pull \(id) from worker-\(copy.worker + 1): \(error)")
                }
            }
        }
    }

    // MARK: Objects in worker processes

    /// Pulls an object from the worker process that keeps it and keeps the copy here.
    func fetch(_ id: ObjectID, _ copy: RemoteCopy) async throws -> Payload {
        let payload = try await puller.pull(id, from: PeerID(UInt32(copy.worker + 1)), expectedBytes: copy.byteCount)
        let effects = state.withLock { state -> Effects in
            var effects = Effects()
            state.adoptPulled(id, payload, effects: &effects, spill: spill)
            if effects.spillCandidates { state.enforce(capacity: configuration.objectStoreMemory, spill: spill) }
            return effects
        }
        perform(effects)
        return payload
    }

    /// Sends object `id` to the worker process that asked for it, pulling it first from another
    /// worker if that is where it is: lent in shared memory when the worker asked for that, in
    /// chunks otherwise (or when no segment can be made).
    func serve(_ id: ObjectID, to peer: PeerID, sharedMemory: Bool) {
        Task { [self] in
            do {
                let payload = try await payload(of: id)
                if sharedMemory && sharesMemory, let segment = exportedSegment(id, payload) {
                    let loan = segments.lend(segment, object: id, typeName: payload.typeName, to: peer)
                    try router.trySend(.objectShared(loan), from: .driver, to: peer)
                    return
                }
                let (typeName, bytes) = payload.encoded
                try await ObjectTransfer.sendChunks(of: id, typeName: typeName, bytes: bytes, through: router, to: peer)
            } catch {
                router.send(.objectUnavailable(id, reason: "\(error)"), from: .driver, to: peer)
            }
        }
    }

    /// The segment `id` is encoded in, encoding it on the first loan; nil when no segment can
    /// be made (the object then goes in chunks).
    private func exportedSegment(_ id: ObjectID, _ payload: Payload) -> SharedSegment? {
        if let segment = exports.withLock({ $0[id] }) { return segment }
        let segment: SharedSegment
        do {
            segment = try segments.store(payload)
        } catch {
            logger.warning("could not put \(id) in shared memory (\(error)); sending it in chunks")
            return nil
        }
        let kept = exports.withLock { exports -> SharedSegment? in
            if let earlier = exports[id] { return earlier }
            exports[id] = segment
            return nil
        }
        guard let kept else { return segment }
        segments.drop(segment)  // Another pull encoded it first.
        return kept
    }

    /// Gives back the segments of objects no longer in the store.
    func dropExports(_ ids: [ObjectID]) {
        let dropped = exports.withLock { exports in ids.compactMap { exports.removeValue(forKey: $0) } }
        for segment in dropped { segments.drop(segment) }
    }

    // MARK: Losing workers (multi-process)

    /// Recovers from the loss of a worker process: retries or fails its tasks, restarts or kills
    /// its actors, and answers the calls it leaves unanswered.
    func workerLost(_ worker: Int, reason: String) {
        let effects = state.withLock { state -> Effects in
            var effects = Effects()
            state.loseWorker(worker, reason: reason, effects: &effects, spill: spill, nextTaskID: ids.nextSequence)
            return effects
        }
        puller.peerLost(PeerID(UInt32(worker + 1)))
        segments.peerLost(PeerID(UInt32(worker + 1)))
        perform(effects)
        let loss = actorHub.workerLost(worker, reason: reason)
        for (id, continuation) in loss.spawns {
            continuation.resume(
                throwing: ActorError.actorDied(id, reason: "worker-\(worker + 1) was lost (\(reason)) while the actor was being built"))
        }
        for (call, error) in loss.interrupted { router.answer(call, with: error) }
        for (id, hosted) in loss.restart { restartActor(id, hosted) }
    }

    /// Takes a replaced worker back into service, with all its resources free, and starts the
    /// tasks that were waiting for room.
    func workerReturned(_ worker: Int) {
        let effects = state.withLock { state -> Effects in
            var effects = Effects()
            guard state.workers.indices.contains(worker), !state.workers[worker].isAlive else { return effects }
            state.workers[worker].isAlive = true
            state.workers[worker].available = state.workers[worker].total
            state.workers[worker].running = 0
            state.schedule(effects: &effects, spill: spill)
            return effects
        }
        perform(effects)
    }

    /// Builds a lost actor again on another worker, under the same identity.
    private func restartActor(_ id: ActorIdentity, _ hosted: ActorHub.Hosted) {
        do {
            let worker = try reserveActor(hosted.resources, placement: hosted.placement, typeName: hosted.typeName)
            actorHub.relocate(id, to: worker)
            logger.info(
                "restarting actor \(id) (\(hosted.typeName)) on worker-\(worker + 1), restart \(hosted.restarts) of \(hosted.maxRestarts)")
            router.send(.spawnActor(ActorSpawn(actor: id, typeName: hosted.typeName)), toWorker: worker)
        } catch {
            let held = actorHub.giveUpRestart(id, reason: "it could not be restarted: \(error)")
            for call in held { router.answer(call, with: .actorDied(id, reason: "it could not be restarted: \(error)")) }
        }
    }

    /// A worker's answer to a spawn or restart.
    func actorSpawned(_ answer: ActorSpawned) {
        let outcome = actorHub.spawned(answer)
        for call in outcome.calls { router.send(.actorCall(call), toWorker: outcome.worker) }
        for call in outcome.failed {
            router.answer(
                call,
                with: .actorDied(answer.actor, reason: answer.error.map { "its constructor failed: \($0.message)" } ?? "restart failed"))
        }
    }

    /// The payload of a new object, routed through the codec when an in-process cluster is in
    /// codec mode. A multi-process driver keeps the value: it is encoded when a worker first
    /// needs it, straight into shared memory or into the message that carries it.
    private func storedPayload(_ value: any WireSerializable) -> Payload {
        let payload = Payload.value(value)
        guard configuration.routesThroughCodec, !router.isNetwork else { return payload }
        let (typeName, bytes) = payload.encoded
        return .bytes(typeName: typeName, bytes)
    }

    // MARK: Submitting

    func submit(
        _ function: ErasedFunction, arguments: [TaskRecord.Slot], holding handles: [ObjectHandle], options: TaskOptions
    ) throws(ClusterError) -> ObjectHandle {
        drainReleases()
        guard options.resources.isValid, options.maxRetries >= 0 else {
            throw .unschedulable(task: function.name, reason: "resources must be finite and non-negative, retries at least 0")
        }
        let taskID = ids.nextSequence()
        let result = ids.nextObject()
        let effects = try state.withLock { (state) throws(ClusterError) -> Effects in
            guard !state.isShutDown else { throw .shutDown }
            guard state.isSatisfiable(options) else {
                throw .unschedulable(
                    task: function.name,
                    reason: "no worker offers \(options.resources) (each offers \(configuration.resourcesPerWorker))")
            }
            var effects = Effects()
            state.objects[result] = ObjectEntry(state: .pending, handles: 1, producer: taskID)
            state.submitted += 1
            var task = TaskRecord(
                id: taskID, function: function, arguments: arguments, unresolved: 0, result: result,
                options: options, heldInputs: handles)
            var failedInput: (any Error)?
            for id in task.arguments.flatMap(\.objectIDs) {
                guard let entry = state.objects[id] else {
                    failedInput = ClusterError.objectLost(id)
                    break
                }
                switch entry.state {
                case .pending:
                    task.unresolved += 1
                    state.objects[id]?.dependents.append(taskID)
                case .failed(let error):
                    failedInput = error
                case .ready, .spilled, .remote:
                    break
                }
                if failedInput != nil { break }
            }
            if let failedInput {
                // Undo the dependent registrations made so far, then fail the result.
                for id in task.arguments.flatMap(\.objectIDs) { state.objects[id]?.dependents.removeAll { $0 == taskID } }
                state.failed += 1
                state.fail(result, failedInput, effects: &effects)
                return effects
            }
            if task.unresolved == 0 {
                task.phase = .waitingForResources
                state.readyQueues[ReadyQueueKey(resources: options.resources, placement: options.placement), default: []].append(taskID)
            }
            state.tasks[taskID] = task
            state.schedule(effects: &effects, spill: spill)
            return effects
        }
        metrics.submitted.increment()
        perform(effects)
        return ObjectHandle(adopting: result, core: self)
    }

    // MARK: Completing

    /// Records the outcome of a task that worker `reporter` ran. A completion from any other
    /// worker than the one the task's current attempt was sent to is ignored (and logged): a
    /// worker cannot settle another's task.
    func complete(_ completion: TaskCompletion, from reporter: Int) {
        let ended = ContinuousClock.now
        var timelineEvent: TimelineEvent?
        var runningNow: Int?
        var store: (before: StoreSnapshot, after: StoreSnapshot)?
        let effects = state.withLock { state -> Effects in
            var effects = Effects()
            let before = state.storeSnapshot
            defer { store = (before, state.storeSnapshot) }
            guard let index = state.tasks.index(forKey: completion.taskID),
                state.tasks.values[index].attempt == completion.attempt,
                case .running(let worker) = state.tasks.values[index].phase
            else { return effects }
            guard worker == reporter else {
                logger.error(
                    "worker-\(reporter + 1) reported task \(completion.taskID), which runs on worker-\(worker + 1); the report was ignored")
                return effects
            }
            // Take the record out of the table (a move, not a copy); a retry puts it back.
            var task = state.tasks.remove(at: index).value
            state.giveBack(task.options.resources, placement: task.options.placement, worker: worker)
            state.workers[worker].running -= 1
            state.running -= 1
            runningNow = state.running
            if let started = task.startedAt {
                timelineEvent = TimelineEvent(
                    name: task.function.name, taskID: task.id, worker: worker, start: started, end: ended,
                    succeeded: { if case .success = completion.outcome { return true } else { return false } }())
            }
            var outcome = completion.outcome
            if task.cancelRequested { outcome = .cancelled }
            switch outcome {
            case .success(let payload):
                state.finished += 1
                state.seal(task.result, payload, location: worker, effects: &effects)
            case .stored(let typeName, let byteCount):
                state.finished += 1
                let lineage = Lineage(
                    function: task.function, arguments: task.arguments, options: task.options, heldInputs: task.heldInputs)
                state.sealRemote(
                    task.result, RemoteCopy(worker: worker, typeName: typeName, byteCount: byteCount), lineage: lineage,
                    effects: &effects)
            case .thrown(let error):
                logger.debug(
                    "task failed", metadata: ["task": "\(task.function.name)", "attempt": "\(task.attempt)", "error": "\(error.message)"])
                if task.options.retryOnThrownErrors && task.attempt < task.options.maxRetries {
                    task.attempt += 1
                    task.phase = .waitingForResources
                    state.tasks[task.id] = task
                    state.readyQueues[ReadyQueueKey(resources: task.options.resources, placement: task.options.placement), default: []]
                        .append(task.id)
                } else {
                    state.failed += 1
                    state.fail(task.result, error, effects: &effects)
                }
            case .timedOut:
                state.failed += 1
                let seconds = task.options.timeout.map { Double($0.components.seconds) + Double($0.components.attoseconds) * 1e-18 } ?? 0
                state.fail(task.result, ClusterError.timedOut(task: task.function.name, seconds: seconds), effects: &effects)
            case .cancelled:
                state.failed += 1
                state.fail(task.result, CancellationError(), effects: &effects)
            }
            state.schedule(effects: &effects, spill: spill)
            if effects.spillCandidates { state.enforce(capacity: configuration.objectStoreMemory, spill: spill) }
            return effects
        }
        if let timelineEvent {
            timeline.record(timelineEvent)
            metrics.record(timelineEvent)
        }
        if let store { metrics.observeStore(store.after, since: store.before) }
        if let runningNow { metrics.running.record(runningNow) }
        perform(effects)
    }

    // MARK: Reading objects

    func payload(of id: ObjectID) async throws -> Payload {
        enum Lookup {
            case found(Payload)
            case failed(any Error)
            case pending
            case remote(RemoteCopy)
        }
        while true {
            let lookup = state.withLock { state -> Lookup in
                guard let entry = state.objects[id] else { return .failed(ClusterError.objectLost(id)) }
                switch entry.state {
                case .ready(let payload):
                    let now = state.tick()
                    state.objects[id]?.lastAccess = now
                    return .found(payload)
                case .spilled:
                    let restored = state.restore(id, spill: spill)
                    state.enforce(capacity: configuration.objectStoreMemory, spill: spill)
                    switch restored {
                    case .success(let payload): return .found(payload)
                    case .failure(let error): return .failed(error)
                    }
                case .failed(let error): return .failed(error)
                case .pending: return .pending
                case .remote(let copy): return .remote(copy)
                }
            }
            switch lookup {
            case .found(let payload): return payload
            case .failed(let error): throw error
            case .remote(let copy):
                do {
                    return try await fetch(id, copy)
                } catch is HolderLost {
                    continue  // The object is being rebuilt, or has failed.
                }
            case .pending:
                do {
                    return try await waitForSeal(id)
                } catch is ObjectSealedElsewhere {
                    continue
                }
            }
        }
    }

    private func waitForSeal(_ id: ObjectID) async throws -> Payload {
        let reader = OneShot<Payload>()
        let immediate = state.withLock { state -> Result<Payload, any Error>? in
            guard let entry = state.objects[id] else { return .failure(ClusterError.objectLost(id)) }
            switch entry.state {
            case .pending:
                state.objects[id]?.waiters.append(.reader(reader))
                return nil
            case .ready(let payload): return .success(payload)
            case .failed(let error): return .failure(error)
            case .spilled: return state.restore(id, spill: spill)
            case .remote: return .failure(ObjectSealedElsewhere())
            }
        }
        if let immediate { return try immediate.get() }
        // A cancelled reader stays in the entry's list until the object settles; resuming it
        // then is a no-op.
        return try await reader.value()
    }

    func value<T: WireSerializable>(of id: ObjectID, as type: T.Type) async throws -> T {
        let payload = try await payload(of: id)
        do {
            return try payload.value(as: T.self)
        } catch let error as WireError {
            if case .typeMismatch(let expected, let found) = error {
                throw ClusterError.typeMismatch(object: id, expected: expected, stored: found)
            }
            throw error
        }
    }

    /// Calls `callback` once `id` is sealed or has failed (at once if it already has).
    func whenSettled(_ id: ObjectID, _ callback: @escaping @Sendable () -> Void) {
        let settled = state.withLock { state -> Bool in
            guard let entry = state.objects[id], case .pending = entry.state else { return true }
            state.objects[id]?.waiters.append(.callback { _ in callback() })
            return false
        }
        if settled { callback() }
    }

    // MARK: Putting objects

    func put(_ value: any WireSerializable) throws(ClusterError) -> ObjectHandle {
        drainReleases()
        let id = ids.nextObject()
        let payload = storedPayload(value)
        let store = try state.withLock { (state) throws(ClusterError) -> (StoreSnapshot, StoreSnapshot) in
            guard !state.isShutDown else { throw .shutDown }
            let before = state.storeSnapshot
            state.objects[id] = ObjectEntry(state: .pending, handles: 1)
            var effects = Effects()
            state.seal(id, payload, location: nil, effects: &effects)
            state.enforce(capacity: configuration.objectStoreMemory, spill: spill)
            return (before, state.storeSnapshot)
        }
        metrics.observeStore(store.1, since: store.0)
        return ObjectHandle(adopting: id, core: self)
    }

    // MARK: Releasing objects

    /// Called from `ObjectHandle.deinit`, possibly under the main lock: queue the release and
    /// let a task drain the queue.
    func releaseHandle(_ id: ObjectID) {
        let first = pendingReleases.withLock { queue -> Bool in
            queue.append(id)
            return queue.count == 1
        }
        if first { Task.detached { [self] in self.drainReleases() } }
    }

    func drainReleases() {
        let ids = pendingReleases.withLock { queue -> [ObjectID] in
            let taken = queue
            queue.removeAll()
            return taken
        }
        guard !ids.isEmpty else { return }
        let (frees, gone) = state.withLock { state in
            let frees = ids.compactMap { id in state.release(id, spill: spill).map { (id, $0) } }
            return (frees, ids.filter { state.objects[$0] == nil })
        }
        for (id, worker) in frees { router.send(.freeObject(id), toWorker: worker) }
        if sharesMemory { dropExports(gone) }
    }

    // MARK: Cancelling

    func cancel(_ id: ObjectID) {
        let effects = state.withLock { state -> Effects in
            var effects = Effects()
            guard let producer = state.objects[id]?.producer, var task = state.tasks[producer] else { return effects }
            switch task.phase {
            case .running(let worker):
                task.cancelRequested = true
                state.tasks[producer] = task
                effects.cancellations.append((worker, producer))
            case .waitingForInputs, .waitingForResources:
                if case .waitingForResources = task.phase {
                    state.readyQueues[ReadyQueueKey(resources: task.options.resources, placement: task.options.placement)]?
                        .removeAll { $0 == producer }
                }
                for input in task.arguments.flatMap(\.objectIDs) { state.objects[input]?.dependents.removeAll { $0 == producer } }
                state.tasks[producer] = nil
                state.failed += 1
                state.fail(id, CancellationError(), effects: &effects)
            }
            return effects
        }
        perform(effects)
    }

    // MARK: Status and shutdown

    func status() -> ClusterStatus {
        drainReleases()
        return state.withLock { state in
            let running = state.running
            return ClusterStatus(
                workers: state.workers.map {
                    .init(id: $0.id, total: $0.total, available: $0.available, runningTasks: $0.running, isAlive: $0.isAlive)
                },
                tasks: .init(
                    submitted: state.submitted, waiting: state.tasks.count - running, running: running,
                    finished: state.finished, failed: state.failed),
                objectStore: .init(
                    objects: state.objects.count, bytesInMemory: state.bytesInMemory, bytesSpilled: state.bytesSpilled,
                    spilledObjects: state.spilledObjects, totalSpills: state.totalSpills, totalRestores: state.totalRestores,
                    capacity: configuration.objectStoreMemory))
        }
    }

    /// Fails every task that has not finished, cancels the running ones, waits up to
    /// `grace` for them to stop, and frees the spill folder.
    func shutdown(grace: Duration) async {
        let effects = state.withLock { state -> Effects in
            var effects = Effects()
            guard !state.isShutDown else { return effects }
            state.isShutDown = true
            for (taskID, task) in state.tasks {
                if case .running(let worker) = task.phase { effects.cancellations.append((worker, taskID)) }
            }
            let pendingResults = state.tasks.values.map(\.result)
            state.tasks = [:]
            state.readyQueues = [:]
            state.running = 0
            for result in pendingResults { state.fail(result, ClusterError.shutDown, effects: &effects) }
            return effects
        }
        perform(effects)
        puller.failAll(ClusterError.shutDown)
        await router.shutdown(grace: grace)
        actorHub.close()
        drainReleases()
        dropExports(exports.withLock { Array($0.keys) })
        spill.removeAll()
    }
}
