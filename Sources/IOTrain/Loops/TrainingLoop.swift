import IORuntime
import Synchronization

/// What one rank of a training loop is given: its rank, the number of ranks, and the collective
/// group that joins them.
public struct TrainingContext: Sendable {
    /// The group of every rank of this run; collectives on it are how ranks agree.
    public let group: CollectiveGroup
    /// This rank, from 0 to ``worldSize`` − 1.
    public var rank: Int { group.rank }
    /// The number of ranks.
    public var worldSize: Int { group.size }
}

/// A training function that every rank runs itself, as Ray Train's `train_loop_per_worker`: it
/// receives its rank, the world size and a collective group, and returns a report.
///
/// Compiled Swift cannot ship closures between processes, so a loop is registered by name in the
/// `Registry` that every process of the cluster builds, and ``run(_:workers:on:options:)`` starts
/// one task per rank:
///
/// ```swift
/// let loop = TrainingLoop("averages") { (context, config: Int) async throws -> Double in
///     let mine = Tensor<Double>([Double(context.rank * config)])
///     return try await context.group.allreduce(mine, .average).scalars[0]
/// }
/// let registry = Registry().trainingLoop(loop)
/// let cluster = try await Cluster.start(.inProcess(workers: 2), registry: registry)
/// let reports = try await loop.run(10, workers: 2, on: cluster)   // [5.0, 5.0]
/// ```
public struct TrainingLoop<Config: WireSerializable, Report: WireSerializable>: Sendable {
    /// The task each rank runs: it joins the group, runs the loop, and leaves.
    public let function: RemoteFunction<CollectiveInvitation, Config, Report>

    /// The name the loop is registered under.
    public var name: String { function.name }

    /// A loop called `name` (unique among a registry's loops and functions) that runs `body`.
    public init(_ name: String, _ body: @escaping @Sendable (TrainingContext, Config) async throws -> Report) {
        function = RemoteFunction("IOTrain.loop." + name) { (invitation: CollectiveInvitation, config: Config) async throws -> Report in
            let group = try await CollectiveGroup.join(invitation)
            do {
                let report = try await body(TrainingContext(group: group), config)
                // No rank closes its connections while a neighbour may still wait for its messages.
                try await group.barrier()
                await group.leave()
                return report
            } catch {
                await group.leave()
                throw error
            }
        }
    }

    /// How a run is laid out.
    public struct Options: Sendable {
        /// What each rank's task holds (one CPU by default).
        public var resourcesPerWorker: ResourceSet
        /// How ranks are spread over the cluster's workers.
        public var strategy: PlacementStrategy
        /// The collective group's options.
        public var group: CollectiveGroup.Options

        public init(
            resourcesPerWorker: ResourceSet = [.cpu: 1], strategy: PlacementStrategy = .spread,
            group: CollectiveGroup.Options = CollectiveGroup.Options()
        ) {
            self.resourcesPerWorker = resourcesPerWorker
            self.strategy = strategy
            self.group = group
        }
    }

    /// Runs the loop on `workers` ranks of `cluster` (one task each, in a placement group spread
    /// over its workers) and returns every rank's report, by rank.
    ///
    /// A rank that fails stops the others' collectives (see ``CollectiveError``), so the run ends
    /// with the first error instead of hanging; tasks are not retried (``DataParallelTrainer``
    /// restarts whole runs from a checkpoint instead).
    ///
    /// - Throws: `ClusterError.unschedulable` when the cluster cannot hold the
    ///   ranks now, ``CollectiveError`` or the error a rank threw.
    public func run(_ config: Config, workers: Int, on cluster: Cluster, options: Options = Options()) async throws -> [Report] {
        guard workers > 0 else { throw CollectiveError.invalidArgument("a training run needs at least one worker, not \(workers)") }
        let placement = try await cluster.createPlacementGroup(
            Array(repeating: options.resourcesPerWorker, count: workers), strategy: options.strategy)
        defer { cluster.removePlacementGroup(placement) }
        let reports = Mutex<[Int: Report]>([:])
        let function = function
        let taskOptions = (0..<workers).map { rank in
            TaskOptions(resources: options.resourcesPerWorker, maxRetries: 0, placement: placement.bundle(rank))
        }
        try await CollectiveGroup.form(size: workers, on: cluster, options: options.group) { rank, invitation in
            let report = try await cluster.get(try await cluster.submit(function, invitation, config, options: taskOptions[rank]))
            reports.withLock { $0[rank] = report }
        }
        return reports.withLock { reports in (0..<workers).map { reports[$0]! } }
    }
}

extension Registry {
    /// This registry with `loop` added, so that the cluster's processes can run its ranks.
    public func trainingLoop<Config, Report>(_ loop: TrainingLoop<Config, Report>) -> Registry {
        function(loop.function)
    }
}
