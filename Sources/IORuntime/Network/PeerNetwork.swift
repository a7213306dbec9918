import Synchronization

/// A transport between processes that reach each other over a network: it listens, connects,
/// and knows which peers are connected.
public protocol NetworkTransport: Transport {
    /// Accepts connections on `host` (port 0 picks a free one) and returns the port.
    func listen(host: String, port: Int) async throws -> Int
    /// Connects to the transport listening at `host:port`, returning the peer it authenticated as.
    @discardableResult
    func connect(host: String, port: Int) async throws -> PeerID
    /// The peers connected now.
    var connectedPeers: Set<PeerID> { get }
}

/// How higher layers open their own connections between a cluster's processes (the rings of
/// collectives, for one) with the cluster's protection, without knowing the network module:
/// each connection is authenticated by a secret derived from the cluster's, and on a cluster of
/// machines it is mutual TLS with the node's certificate, listening on every interface and
/// advertised at the address other machines reach this one at.
///
/// The driver finds its cluster's in ``ClusterLink/peerNetwork``; a worker process finds the one
/// its network module set up in ``ofThisProcess``.
public struct PeerNetwork: Sendable {
    /// Makes a transport for `localPeer` that accepts only `expectedPeers`, authenticated by
    /// `secret` (from ``derivedSecret``).
    public let makeTransport:
        @Sendable (_ localPeer: PeerID, _ secret: [UInt8], _ expectedPeers: Set<PeerID>?) throws -> any NetworkTransport
    /// Where such a transport listens: `nil` for the host the caller advertises (one machine).
    public let listenHost: String?
    /// Whether the cluster spans machines (its transports listen on every interface).
    public var spansHosts: Bool { listenHost != nil }
    /// The host other processes reach this one at: `nil` for the caller's default (loopback).
    public var advertisedHost: String? { findAdvertisedHost() }
    private let findAdvertisedHost: @Sendable () -> String?
    /// A secret for `purpose` derived from the cluster's own, which it never reveals.
    public let derivedSecret: @Sendable (_ purpose: String) -> [UInt8]

    /// `advertisedHost` is asked each time it is needed: a worker learns the address it is
    /// reached at only once it has connected to its driver.
    public init(
        listenHost: String?, advertisedHost: @escaping @Sendable () -> String?, derivedSecret: @escaping @Sendable (String) -> [UInt8],
        makeTransport: @escaping @Sendable (PeerID, [UInt8], Set<PeerID>?) throws -> any NetworkTransport
    ) {
        self.listenHost = listenHost
        findAdvertisedHost = advertisedHost
        self.derivedSecret = derivedSecret
        self.makeTransport = makeTransport
    }

    /// The peer network of this worker process when a multi-process cluster started it; `nil`
    /// in a driver (its comes from its cluster) and in a process that is no cluster's worker.
    public static var ofThisProcess: PeerNetwork? {
        get { processNetwork.withLock { $0 } }
        set { processNetwork.withLock { $0 = newValue } }
    }

    private static let processNetwork = Mutex<PeerNetwork?>(nil)
}
