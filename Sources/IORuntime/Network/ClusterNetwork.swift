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
    /// A secret for `purpose` derived from the cluster's own (which it never reveals), for the
    /// connections that higher layers open between the cluster's processes; `nil` when the
    /// network has no secret.
    func derivedSecret(for purpose: String) -> [UInt8]?
    /// Starts a new worker in the place of lost worker `peer` (a fresh process under the same
    /// peer), returning once it has connected.
    func replace(_ peer: PeerID) async throws
}

extension ClusterLink {
    public var sharesMemory: Bool { false }
    public func derivedSecret(for purpose: String) -> [UInt8]? { nil }
    public func replace(_ peer: PeerID) async throws {
        throw ClusterError.startFailed("this network cannot start a worker in place of \(peer)")
    }
}

/// How often the driver checks on its workers, and how long a silent worker is given.
public struct HeartbeatPolicy: Sendable, Equatable {
    /// The time between heartbeats.
    public var interval: Duration
    /// A worker not heard from for this long is declared lost.
    public var timeout: Duration

    public init(interval: Duration = .milliseconds(500), timeout: Duration = .seconds(5)) {
        self.interval = interval
        self.timeout = timeout
    }
}
