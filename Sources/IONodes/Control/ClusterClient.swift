/// One-off requests to a cluster's head, as `iocompute status` makes them.
public enum ClusterClient {
    /// The cluster's nodes as the head at `head` sees them.
    public static func status(of head: NodeAddress, credentials: ClusterCredentials) async throws -> ClusterSnapshot {
        let connection = try await ControlConnection.open(to: head, credentials: credentials)
        defer { Task { await connection.close() } }
        switch try await connection.request({ .statusRequest(request: $0) }) {
        case .status(_, let snapshot): return snapshot
        case .failed(_, let reason): throw ControlError.refused(reason)
        default: throw ControlError.malformed("the head answered a status request with something else")
        }
    }
}
