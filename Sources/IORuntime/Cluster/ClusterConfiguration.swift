/// How a cluster runs: where its workers are, what each can hold, and how its object store
/// manages memory.
public struct ClusterConfiguration: Sendable {
    /// Where the workers run.
    public enum Mode: Sendable {
        /// Executors on a thread pool inside this process; objects are shared by reference.
        case inProcess
        /// Worker processes reached through a network (see `ClusterConfiguration.localProcesses`
        /// in `IOTransportTCP`); every message and object crosses the wire codec.
        case network(any ClusterNetwork)
    }

    /// Where the workers run.
    public var mode: Mode
    /// The number of workers.
    public var workers: Int
    /// The resources each worker offers.
    public var resourcesPerWorker: ResourceSet
    /// The object store's memory cap in bytes; least recently used objects beyond it are spilled
    /// to disk and restored when read.
    public var objectStoreMemory: Int
    /// Where spilled objects go (a fresh folder under the system's temporary folder by default).
    public var spillDirectory: String?
    /// Routes every message and object through the wire codec and an ``InProcessTransport``, as a
    /// multi-process cluster would, so that the codec is exercised without sockets (tests).
    public var routesThroughCodec: Bool
    /// Records task start and end events for ``Cluster/timeline(to:)``; the most recent
    /// `timelineCapacity` events are kept.
    public var timelineCapacity: Int
    /// How the driver detects lost worker processes (not used in process).
    public var heartbeat: HeartbeatPolicy = HeartbeatPolicy()
    /// How many short tasks a worker may hold queued behind each task it runs, so that it starts
    /// the next one the moment one ends instead of waiting a round trip for the driver to send it.
    /// Only tasks whose function has so far averaged under ``pipelinedTaskLimit`` are queued, and
    /// only when no worker has free resources for them; a queued task inherits the resources of
    /// the one it waits for. 8 for worker processes, 0 (off) in process, where a dispatch costs
    /// no round trip.
    public var pipelineDepth: Int
    /// Functions whose tasks have averaged less than this, from dispatch to report, may have them
    /// queued behind others (2 ms). Longer tasks wait for free resources: the round trip a queue
    /// saves is small beside them, and a long task queued behind another long one could wait
    /// while another worker idles.
    public var pipelinedTaskLimit: Duration = .milliseconds(2)

    /// A configuration with every field given; the static constructors are easier to read.
    public init(
        mode: Mode, workers: Int, resourcesPerWorker: ResourceSet, objectStoreMemory: Int, spillDirectory: String?,
        routesThroughCodec: Bool, timelineCapacity: Int, heartbeat: HeartbeatPolicy = HeartbeatPolicy()
    ) {
        self.mode = mode
        self.workers = workers
        self.resourcesPerWorker = resourcesPerWorker
        self.objectStoreMemory = objectStoreMemory
        self.spillDirectory = spillDirectory
        if case .network = mode { self.routesThroughCodec = true } else { self.routesThroughCodec = routesThroughCodec }
        self.timelineCapacity = timelineCapacity
        self.heartbeat = heartbeat
        if case .network = mode { pipelineDepth = 8 } else { pipelineDepth = 0 }
    }

    /// The network of a multi-process cluster, `nil` in process.
    var network: (any ClusterNetwork)? {
        if case .network(let network) = mode { return network }
        return nil
    }

    /// The embedded default: `workers` executors in this process, one CPU each.
    ///
    /// - Parameters:
    ///   - workers: the number of workers (the machine's core count is a good start).
    ///   - resourcesPerWorker: what each worker offers (`[.cpu: 1]` by default).
    ///   - objectStoreMemory: the object store's cap (2 GiB by default).
    ///   - spillDirectory: where objects over the cap are written (a fresh temporary folder by default).
    ///   - routesThroughCodec: send everything through the wire codec (for tests).
    ///   - timelineCapacity: how many recent task events the timeline keeps.
    public static func inProcess(
        workers: Int, resourcesPerWorker: ResourceSet = [.cpu: 1], objectStoreMemory: Int = 2 << 30,
        spillDirectory: String? = nil, routesThroughCodec: Bool = false, timelineCapacity: Int = 100_000
    ) -> ClusterConfiguration {
        ClusterConfiguration(
            mode: .inProcess, workers: workers, resourcesPerWorker: resourcesPerWorker,
            objectStoreMemory: objectStoreMemory, spillDirectory: spillDirectory,
            routesThroughCodec: routesThroughCodec, timelineCapacity: timelineCapacity)
    }

    func validate() throws(ClusterError) {
        guard workers >= 1 else { throw .invalidConfiguration("at least one worker is needed, not \(workers)") }
        guard resourcesPerWorker.isValid else { throw .invalidConfiguration("resources must be finite and non-negative") }
        guard objectStoreMemory > 0 else { throw .invalidConfiguration("the object store needs a positive memory cap") }
        guard pipelineDepth >= 0, pipelinedTaskLimit >= .zero else {
            throw .invalidConfiguration("the pipeline depth and the pipelined task limit cannot be negative")
        }
        guard timelineCapacity >= 0 else { throw .invalidConfiguration("the timeline capacity cannot be negative") }
        guard heartbeat.interval > .zero, heartbeat.timeout > heartbeat.interval, heartbeat.missedHeartbeats >= 1 else {
            throw .invalidConfiguration("the heartbeat timeout must exceed a positive interval, and at least one miss is needed")
        }
    }
}
