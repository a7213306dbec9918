/// Something that carries runtime messages on to their destination: the driver's router, or a
/// worker process's node.
protocol MessageSending: Sendable {
    func send(_ message: RuntimeMessage, from source: PeerID, to destination: PeerID)
    /// Returns once the connection that carries messages to `destination` has room, so that a
    /// sender goes at its reader's pace (at once where there is no connection in between).
    func waitUntilWritable(to destination: PeerID) async throws
}

extension MessageSending {
    func waitUntilWritable(to destination: PeerID) async throws {}
}
