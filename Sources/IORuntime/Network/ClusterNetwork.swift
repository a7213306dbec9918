/// How a multi-process cluster starts its workers and reaches them.
///
/// `IORuntime` knows nothing of sockets or processes: a network module (the local-process network of
/// `IOTransportTCP`, for one) implements this protocol, and a configuration made by that
/// module (`ClusterConfiguration.localProcesses(workers:)`) carries it to ``Cluster/start(_:registry:)``.
public protocol ClusterNetwork: Sendable {
    /// Called first by ``Cluster/start(_:registry:)`` in every process. In a process this network
    /// launched as a worker it serves as that worker with `registry` and ends the process when the
    /// driver goes; anywhere else it returns at once.
    func runWorkerIfLaunched(registry: Registry) async

    /// Starts `count` workers and returns the driver's end of the network once every worker has
    /// connected and authenticated.
    func startWorkers(count: Int) async throws -> any ClusterLink
}

/// The driver's end of a multi-process cluster's network.
public protocol ClusterLink: Sendable {
    /// The transport the driver sends on; worker `i` (from 0) is `PeerID(i + 1)`.
    var transport: any Transport { get }
    /// Where the driver accepts connections (`host:port`).
    var address: String { get }
    /// Ends a worker that stopped answering heartbeats (kills its process where it can).
    func terminate(_ peer: PeerID)
    /// Stops every worker and closes the connections.
    func shutdown() async
    /// Whether every worker runs on the driver's host and can map its shared memory, so that
    /// large objects move as shared-memory loans rather than bytes on the connections.
    var sharesMemory: Bool { get }
    /// How higher layers open connections between the cluster's processes, with the cluster's
    /// protection; `nil` when the network cannot.
    var peerNetwork: PeerNetwork? { get }
    /// Called once the cluster runs, with a way to read its status (`nil` once it is gone): a
    /// network that reports to a head node reports the cluster's load from it.
    func clusterStarted(status: @escaping @Sendable () -> ClusterStatus?)
    /// Starts a new worker in the place of lost worker `peer` (a fresh process under the same
    /// peer), returning once it has connected.
    func replace(_ peer: PeerID) async throws
    /// The process ID of worker `peer` when it runs on this host: shared-memory loans from it
    /// are mapped only from that process. `nil` when unknown.
    func processID(of peer: PeerID) -> Int32?
}

extension ClusterLink {
    public var sharesMemory: Bool { false }
    public var peerNetwork: PeerNetwork? { nil }
    public func clusterStarted(status: @escaping @Sendable () -> ClusterStatus?) {}
    /// A secret for `purpose` derived from the cluster's own; `nil` without a peer network.
    public func derivedSecret(for purpose: String) -> [UInt8]? { peerNetwork?.derivedSecret(purpose) }
    public func processID(of peer: PeerID) -> Int32? { nil }
    public func replace(_ peer: PeerID) async throws {
        throw ClusterError.startFailed("this network cannot start a worker in place of \(peer)")
    }
}

/// How the driver finds out that a worker process is gone.
///
/// A closed connection (a worker that exited or was killed) is noticed at once. A worker that
/// is still connected but does not answer — stopped, hung in a system call, cut off — is found
/// by heartbeats: every ``interval`` the driver sends each worker a heartbeat, from a timer
/// outside the Swift cooperative pool, and the worker answers from its network thread. A
/// worker is declared lost once it has left ``missedHeartbeats`` heartbeats in a row
/// unanswered *and* nothing at all has come from it for ``timeout``; both must hold, so a
/// driver that is itself slow (a loaded machine, a busy process) sends fewer heartbeats and
/// waits longer rather than blaming a healthy worker. Any frame from a worker counts as an
/// answer.
///
/// The defaults (a heartbeat a second, 5 misses, 10 s of silence) sit next to Ray's health
/// checks (every 3 s, lost after 5 failures, each with a 10 s timeout): a hung worker is
/// found in about 10 s where Ray takes about 15.
public struct HeartbeatPolicy: Sendable, Equatable {
    /// The time between heartbeats.
    public var interval: Duration
    /// How many heartbeats in a row a worker must leave unanswered before it can be lost.
    public var missedHeartbeats: Int
    /// How long nothing must have come from a worker before it can be lost.
    public var timeout: Duration

    public init(interval: Duration = .seconds(1), missedHeartbeats: Int = 5, timeout: Duration = .seconds(10)) {
        self.interval = interval
        self.missedHeartbeats = missedHeartbeats
        self.timeout = timeout
    }
}
