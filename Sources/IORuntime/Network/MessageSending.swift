/// Something that carries runtime messages on to their destination: the driver's router, or a
/// worker process's node.
protocol MessageSending: Sendable {
    func send(_ message: RuntimeMessage, from source: PeerID, to destination: PeerID)
}
