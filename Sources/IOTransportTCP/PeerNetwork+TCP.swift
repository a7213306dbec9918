import IORuntime

extension TCPTransport: NetworkTransport {}

extension PeerNetwork {
    /// Connections over TCP authenticated by secrets derived from `token`: on one machine over
    /// loopback, or with `tls` (a cluster of machines) over mutual TLS on every interface,
    /// advertised at the address `host` gives.
    package static func tcp(token: ClusterToken, tls: TransportTLS?, host: @escaping @Sendable () -> String?) -> PeerNetwork {
        let advertised: @Sendable () -> String? = { tls == nil ? nil : host() }
        let derive: @Sendable (String) -> [UInt8] = { token.derived(for: $0).secretBytes }
        let make: @Sendable (PeerID, [UInt8], Set<PeerID>?) throws -> any NetworkTransport = { peer, secret, expected in
            TCPTransport(localPeer: peer, token: try ClusterToken(bytes: secret), expectedPeers: expected, configuration: .init(tls: tls))
        }
        return PeerNetwork(listenHost: tls == nil ? nil : "0.0.0.0", advertisedHost: advertised, derivedSecret: derive, makeTransport: make)
    }
}
