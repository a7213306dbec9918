import CSharedMemory
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A pool of workers that runs registered functions as tasks and keeps their results as objects.
///
/// ```swift
/// let square = RemoteFunction("square") { (x: Int) async throws -> Int in x * x }
/// let cluster = try await Cluster.start(.inProcess(workers: 4), registry: Registry().function(square))
/// var refs: [ObjectRef<Int>] = []
/// for x in 0..<100 { refs.append(try await cluster.submit(square, x)) }
/// let squares = try await cluster.get(refs)
/// try await cluster.shutdown()
/// ```
///
/// Every operation is safe to call from any task. Submissions return at once with an
/// ``ObjectRef``; passing a ref to another submission makes that task wait for the object.
public final class Cluster: Sendable {
    let core: ClusterCore

    private init(core: ClusterCore) { self.core = core }

    /// Starts a cluster.
    ///
    /// - Throws: ``ClusterError/invalidConfiguration(_:)`` for a bad configuration,
    ///   ``ClusterError/duplicateRegistration(name:)`` when two functions share a name.
    ///
    /// With a multi-process configuration (`.localProcesses(workers:)`), the worker processes run
    /// this same program: in them this call serves as a worker and never returns, so build the
    /// same `registry` in every process and do nothing before this call that a worker must not do.
    public static func start(_ configuration: ClusterConfiguration, registry: Registry) async throws -> Cluster {
        try configuration.validate()
        try registry.validate()
        var link: (any ClusterLink)?
        if let network = configuration.network {
            await network.runWorkerIfLaunched(registry: registry)
            // A driver moves large buffers as its workers do (object chunks, encodings, TLS
            // records): freed ones are kept for reuse instead of mapped afresh each time, where
            // 4 KiB page faults cost more than the copies (glibc: mmap threshold 32 MiB, trim
            // threshold 256 MiB).
            _ = iocompute_keep_freed_memory(32 << 20, 256 << 20)
            link = try await network.startWorkers(count: configuration.workers)
        }
        do {
            let core = try ClusterCore(configuration: configuration, registry: registry, link: link)
            try await core.start()
            link?.clusterStarted { [weak core] in core?.status() }
            return Cluster(core: core)
        } catch {
            await link?.shutdown()
            throw error
        }
    }

    /// The configuration the cluster runs with.
    public var configuration: ClusterConfiguration { core.configuration }

    /// Where the driver of a multi-process cluster accepts its workers' connections
    /// (`host:port`); `nil` in process.
    public var driverAddress: String? { core.router.link?.address }

    /// A secret for `purpose` derived from the cluster's token, which every worker process can
    /// derive too and which reveals nothing of the token: higher layers authenticate the
    /// connections they open between the cluster's processes with it (collective groups do).
    /// `nil` for an in-process cluster.
    public func derivedSecret(for purpose: String) -> [UInt8]? { core.router.link?.derivedSecret(for: purpose) }

    /// How higher layers open connections between this cluster's processes (see
    /// ``ClusterLink/peerNetwork``); `nil` for an in-process cluster.
    public var peerNetwork: PeerNetwork? { core.router.link?.peerNetwork }

    /// Starts a new worker process in the place of every lost one (a multi-process cluster's
    /// workers are not replaced on their own) and returns the ids of the workers replaced. The
    /// new workers start empty: objects and actors that lived on the lost ones stay lost or
    /// restarted elsewhere. Work that waited for room, a data-parallel run that shrank after a
    /// loss included, can use them at once.
    ///
    /// - Throws: ``ClusterError/startFailed(_:)`` when a new worker cannot be started or does not
    ///   connect (the workers replaced before it stay in service).
    @discardableResult
    public func replaceLostWorkers() async throws -> [Int] {
        var replaced: [Int] = []
        for worker in core.status().workers where !worker.isAlive {
            if try await core.router.replaceLost(worker.id) {
                core.workerReturned(worker.id)
                replaced.append(worker.id)
            }
        }
        return replaced
    }

    /// Submits `function` with `arguments` — values, or refs the task will wait for — and returns
    /// a ref to its result at once.
    ///
    /// - Throws: ``ClusterError/notRegistered(name:)`` when the function is not in the registry,
    ///   ``ClusterError/unschedulable(task:reason:)`` when no worker could ever run it,
    ///   ``ClusterError/shutDown`` after ``shutdown(grace:)``.
    public func submit<each Argument: WireSerializable, Result: WireSerializable, each Input: TaskArgumentConvertible>(
        _ function: RemoteFunction<repeat each Argument, Result>, _ arguments: repeat each Input,
        options: TaskOptions = TaskOptions()
    ) async throws -> ObjectRef<Result> where repeat (each Input).ArgumentValue == each Argument {
        let registered = try core.registry.lookup(function.name, signature: function.signature)
        var slots: [TaskRecord.Slot] = []
        var handles: [ObjectHandle] = []
        for argument in repeat each arguments {
            switch argument.taskArgument.storage {
            case .value(let value):
                slots.append(.value(core.routesPayload(value)))
            case .reference(let id, let handle):
                guard handle.core === core else { throw ClusterError.objectLost(id) }
                slots.append(.object(id))
                handles.append(handle)
            case .gathered(let ids, let refHandles, let assemble):
                for (id, handle) in zip(ids, refHandles) where handle.core !== core { throw ClusterError.objectLost(id) }
                slots.append(.gathered(ids, assemble: assemble))
                handles.append(contentsOf: refHandles)
            }
        }
        return ObjectRef(handle: try core.submit(registered, arguments: slots, holding: handles, options: options))
    }

    /// The value of `ref`, waiting for it.
    public func get<Value>(_ ref: ObjectRef<Value>) async throws -> Value { try await ref.get() }

    /// The values of `refs`, in order, waiting for all of them.
    public func get<Value>(_ refs: [ObjectRef<Value>]) async throws -> [Value] {
        var values: [Value] = []
        values.reserveCapacity(refs.count)
        for ref in refs { values.append(try await ref.get()) }
        return values
    }

    /// Waits until `count` of `refs` (all by default) are ready or have failed, or until
    /// `timeout` passes, and returns which are ready and which are still pending (each in the
    /// order given). Cancelling the calling task ends the wait in the same way.
    public func wait<Value>(
        _ refs: [ObjectRef<Value>], count: Int? = nil, timeout: Duration? = nil
    ) async -> (ready: [ObjectRef<Value>], pending: [ObjectRef<Value>]) {
        // Every ref ready: answered from the flags the refs carry, without the cluster's lock.
        if ObjectRef.allSettled(refs) { return (refs, []) }
        let needed = min(max(count ?? refs.count, 0), refs.count)
        var settled = refs.map(\.isSettled)
        let alreadyReady = settled.count { $0 }
        if needed > alreadyReady {
            // Refs that settle between the look above and the registration are called back at once.
            let gate = WaitGate(needed: needed - alreadyReady)
            core.whenSettled(zip(refs, settled).filter { !$0.1 }.map(\.0.id)) { gate.settle() }
            let timer = timeout.map { timeout in
                Task {
                    try? await Task.sleep(for: timeout)
                    gate.open()
                }
            }
            // Cancellation ends the wait like the timeout: the caller gets what is ready now.
            _ = try? await gate.opened.value()
            timer?.cancel()
            settled = refs.map(\.isSettled)
        }
        var ready: [ObjectRef<Value>] = []
        var pending: [ObjectRef<Value>] = []
        for (ref, isSettled) in zip(refs, settled) {
            if isSettled { ready.append(ref) } else { pending.append(ref) }
        }
        return (ready, pending)
    }

    /// Stores `value` in the object store and returns a ref to it.
    public func put<Value: WireSerializable>(_ value: Value) async throws -> ObjectRef<Value> {
        ObjectRef(handle: try core.put(value))
    }

    /// Cancels the task that makes `ref` and every task that depends on it; their `get()` throws
    /// `CancellationError`. A running task is asked to stop through Swift task cancellation.
    public func cancel<Value>(_ ref: ObjectRef<Value>) { core.cancel(ref.id) }

    /// Workers, tasks and object-store use.
    public func status() async -> ClusterStatus { core.status() }

    /// Writes the recent task events as Chrome trace JSON to `path` (open it in Perfetto or
    /// `chrome://tracing`).
    public func timeline(to path: String) throws {
        let json = Array(core.timeline.chromeTraceJSON().utf8)
        guard let file = fopen(path, "w") else { throw ClusterError.invalidConfiguration("cannot write \(path)") }
        defer { fclose(file) }
        guard fwrite(json, 1, json.count, file) == json.count else { throw ClusterError.invalidConfiguration("cannot write \(path)") }
    }

    /// Stops the cluster: tasks not yet finished fail with ``ClusterError/shutDown``, running ones
    /// are cancelled (and given up to `grace` to stop), and spilled objects are deleted.
    public func shutdown(grace: Duration = .seconds(5)) async {
        await core.shutdown(grace: grace)
    }
}

/// Counts settled objects for `Cluster.wait` and opens once, on the needed count or on timeout.
private final class WaitGate: Sendable {
    private let remaining: Atomic<Int>
    let opened = OneShot<Void>()

    init(needed: Int) { remaining = Atomic(needed) }

    func settle() {
        if remaining.subtract(1, ordering: .acquiringAndReleasing).newValue == 0 { opened.resume() }
    }

    func open() { opened.resume() }
}

extension ClusterCore {
    /// A task argument's payload, through the codec in codec mode.
    func routesPayload(_ value: any WireSerializable) -> Payload {
        let payload = Payload.value(value)
        guard configuration.routesThroughCodec else { return payload }
        let (typeName, bytes) = payload.encoded
        return .bytes(typeName: typeName, bytes)
    }

}
