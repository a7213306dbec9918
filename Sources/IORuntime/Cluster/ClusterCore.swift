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
    /// The segments this driver lends objects to its workers in, when they share its memory;
    /// reused rather than sealed, since the workers trust their driver (see ``SharedMemoryPool``).
    let segments = SharedMemoryPool(sealsSegments: false)
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
        state = Mutex(
            CoreState(
                workers: workers, routesThroughCodec: configuration.routesThroughCodec, isNetwork: link != nil,
                pipelineDepth: configuration.pipelineDepth, pipelinedTaskLimit: configuration.pipelinedTaskLimit.seconds))
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
            lenderProcess: { [link] holder in link?.processID(of: holder) }, requiresSealedLoans: true)
        actorHub = ActorHub(
            session: ids.session, role: link == nil ? .inProcess : .networkDriver,
            routesThroughCodec: configuration.routesThroughCodec, router: router)
        driverActorSystem = ClusterActorSystem(hub: actorHub, worker: nil)
        // Worker processes have their own actor systems; only an in-process cluster keeps them here.
        workerActorSystems =
            link != nil ? [] : (0..<configuration.workers).map { [actorHub] in ClusterActorSystem(hub: actorHub, worker: $0) }
        for system in [driverActorSystem] + workerActorSystems { system.lendObjects(from: self) }
    }

    /// Connects the router to the workers, the actor systems and this core.
    func start() async throws {
        var systems: [PeerID: ClusterActorSystem] = [.driver: driverActorSystem]
        for system in workerActorSystems { systems[system.peer] = system }
        try await router.start(core: self, registry: registry, actorSystems: systems)
    }

    func perform(_ effects: Effects) {
        for (waiter, result) in effects.resumptions { waiter.resume(with: result) }
        if effects.postedMessages { sendOutbox() }
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
        if !effects.restores.isEmpty { restoreSpilled(effects.restores) }
    }

    // MARK: Status and shutdown

    func status() -> ClusterStatus {
        drainReleases()
        let actors = actorHub.counts()
        return state.withLock { state in
            let running = state.running
            return ClusterStatus(
                workers: state.workers.map {
                    .init(id: $0.id, total: $0.total, available: $0.available, runningTasks: $0.running, isAlive: $0.isAlive)
                },
                tasks: .init(
                    submitted: state.submitted, waiting: state.tasks.count - running, running: running,
                    finished: state.finished, failed: state.failed, pipelined: state.pipelined),
                objectStore: .init(
                    objects: state.objects.count, bytesInMemory: state.bytesInMemory, bytesSpilled: state.bytesSpilled,
                    spilledObjects: state.spilledObjects, totalSpills: state.totalSpills, totalRestores: state.totalRestores,
                    capacity: configuration.objectStoreMemory),
                actors: actors)
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
                if let worker = task.phase.worker { state.post(.cancel(worker: worker, taskID: taskID), effects: &effects) }
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
