import IORuntime
import Logging
import NIOCore
import NIOSSL

#if canImport(Glibc)
    import Glibc
#endif

/// One connection's life: the mutual handshake, then routed frames.
///
/// After the handshake every frame carries `source (4 bytes) · destination (4 bytes) · WireFrame`.
/// The source must be the peer that authenticated on this connection: a frame that names
/// another is a forgery and closes the connection. Anything else that breaks the protocol — a
/// bad or echoed hello, a wrong proof, an ID the node does not expect or already has connected,
/// a malformed or oversized frame, silence past the handshake timeout — closes this connection
/// only, with a logged reason.
final class ConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = IncomingFrame
    typealias OutboundOut = ByteBuffer

    private enum State {
        case awaitingHello
        case awaitingProof(Handshake.Transcript, peer: PeerID, node: String?)
        case established(peer: PeerID)
        case closed
    }

    private var state = State.awaitingHello
    private let hello: Hello
    private let role: Handshake.Role
    private let token: ClusterToken
    private let rules: FrameRules
    private let maximumFrame: Int
    private let handshakeTimeout: TimeAmount
    private let transport: TCPTransport
    private var established: EventLoopPromise<PeerID>?
    private var timeout: Scheduled<Void>?
    private let logger = Logger(label: "iocompute.transport.tcp")

    typealias Hello = Handshake.Hello

    init(
        localPeer: PeerID, role: Handshake.Role, token: ClusterToken, rules: FrameRules, maximumFrame: Int, handshakeTimeout: TimeAmount,
        transport: TCPTransport, established: EventLoopPromise<PeerID>?, hello: Hello? = nil
    ) {
        // A fixed hello only for the fuzz target, whose inputs must be reproducible.
        self.hello = hello ?? Hello.fresh(peer: localPeer)
        self.role = role
        self.token = token
        self.rules = rules
        self.maximumFrame = maximumFrame
        self.handshakeTimeout = handshakeTimeout
        self.transport = transport
        self.established = established
    }

    func channelActive(context: ChannelHandlerContext) {
        guard transport.handshakeStarted() else {
            state = .closed
            transport.recordRejection("too many connections still in their handshake")
            context.close(promise: nil)
            return
        }
        countsAsHandshake = true
        var buffer = context.channel.allocator.buffer(capacity: Handshake.helloSize + 4)
        buffer.writeFrame(hello.bytes)
        context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
        let remote = context.remoteAddress.map { "\($0)" } ?? "unknown"
        // Both the handler and its context belong to this event loop, where the task runs.
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let milliseconds = handshakeTimeout.nanoseconds / 1_000_000
        timeout = context.eventLoop.scheduleTask(in: handshakeTimeout) {
            let (handler, context) = bound.value
            if case .established = handler.state { return }
            handler.reject(context, "no handshake from \(remote) within \(milliseconds) ms")
        }
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .bytes(let frame):
            read(frame, context: context)
        case .routed(let source, let destination, let wireFrame):
            // A large frame the splitter parsed early; it is held to the same rules.
            guard case .established(let peer) = state else {
                reject(context, "a routed frame before the handshake")
                return
            }
            guard source == peer.rawValue else {
                reject(context, "\(peer) sent a frame in the name of \(PeerID(source))")
                return
            }
            transport.deliver(wireFrame, from: peer, to: PeerID(destination))
        }
    }

    private func read(_ frame: ByteBuffer, context: ChannelHandlerContext) {
        var frame = frame
        if case .established(let peer) = state {
            // The route header is read from the buffer; the frame's bytes are copied out once.
            guard let source = frame.readInteger(endianness: .little, as: UInt32.self),
                let destination = frame.readInteger(endianness: .little, as: UInt32.self)
            else {
                reject(context, "a routed frame of \(frame.readableBytes) bytes from \(peer)")
                return
            }
            guard source == peer.rawValue else {
                reject(context, "\(peer) sent a frame in the name of \(PeerID(source))")
                return
            }
            // A large payload is copied once, straight out of the receive buffer.
            if frame.readableBytes > 4096, let prefix = frame.getBytes(at: frame.readerIndex, length: 512),
                let (header, headerLength, payloadLength) = WireFrame.parseHeader(prefix),
                headerLength + payloadLength == frame.readableBytes
            {
                var wireFrame = header
                frame.moveReaderIndex(forwardBy: headerLength)
                wireFrame.payload = frame.readBytes(length: payloadLength) ?? []
                transport.deliver(wireFrame, from: peer, to: PeerID(destination))
                return
            }
            do {
                let wireFrame = try WireFrame(decoding: frame.readBytes(length: frame.readableBytes) ?? [])
                transport.deliver(wireFrame, from: peer, to: PeerID(destination))
            } catch {
                reject(context, "a malformed frame from \(peer): \(error)")
            }
            return
        }
        let bytes = frame.readBytes(length: frame.readableBytes) ?? []
        switch state {
        case .awaitingHello:
            do {
                let theirs = try Hello(parsing: bytes)
                if let refusal = Handshake.refusal(ours: hello, theirs: theirs) {
                    reject(context, refusal)
                    return
                }
                let node = Self.certifiedNode(context)
                if let refusal = transport.refusal(of: theirs.peer, node: node) {
                    reject(context, refusal)
                    return
                }
                let transcript = Handshake.Transcript(ours: hello, theirs: theirs, ourRole: role)
                let proof = Handshake.proof(token: token, role: role, transcript: transcript)
                var buffer = context.channel.allocator.buffer(capacity: Handshake.proofSize + 4)
                buffer.writeFrame(proof)
                context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
                state = .awaitingProof(transcript, peer: theirs.peer, node: node)
            } catch {
                reject(context, "\(error)")
            }
        case .awaitingProof(let transcript, let peer, let node):
            guard Handshake.verify(bytes, token: token, role: role.other, transcript: transcript) else {
                reject(context, "\(peer) failed authentication (wrong cluster token, or a proof made for another peer or role)")
                return
            }
            if let refusal = transport.connectionEstablished(peer: peer, channel: context.channel, node: node) {
                reject(context, refusal)
                return
            }
            state = .established(peer: peer)
            timeout?.cancel()
            endHandshakeCount()
            rules.maximumLength = maximumFrame
            rules.peer = peer
            established?.succeed(peer)
            established = nil
        case .established:
            break  // Handled above.
        case .closed:
            break
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if case .established(let peer) = state, context.channel.isWritable {
            transport.connectionWritable(peer: peer, channel: context.channel)
        }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        timeout?.cancel()
        if countsAsHandshake {
            // The peer gave up first (it found our proof wrong, say): still worth a line.
            transport.recordRejection(
                "\(context.remoteAddress.map { "\($0)" } ?? "a peer") closed the connection during the handshake")
        }
        endHandshakeCount()
        if case .established(let peer) = state { transport.connectionLost(peer: peer, channel: context.channel) }
        established?.fail(TCPTransportError.connectionClosed)
        established = nil
        state = .closed
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        // A connection that closes before it became active never saw channelInactive.
        established?.fail(TCPTransportError.connectionClosed)
        established = nil
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A peer process that exits closes its socket without TLS's close_notify: after the
        // handshake that is an ordinary close, not an attack worth a warning.
        if case .established = state {
            let reset = (error as? IOError)?.errnoCode == ECONNRESET
            if case NIOSSLError.uncleanShutdown = error { context.close(promise: nil); return }
            if reset { context.close(promise: nil); return }
        }
        reject(context, "\(error)")
    }

    /// The node name in the certificate the peer presented on a TLS connection ("" for a
    /// certificate without one), or `nil` on a connection without TLS. Bytes reach this handler
    /// only after the TLS handshake verified the certificate against the cluster authority.
    private static func certifiedNode(_ context: ChannelHandlerContext) -> String? {
        guard let tls = try? context.pipeline.syncOperations.handler(type: NIOSSLHandler.self) else { return nil }
        return tls.peerCertificate.flatMap(TransportTLS.nodeName(of:)) ?? ""
    }

    /// Whether the connection counts among the transport's connections still in their handshake.
    private var countsAsHandshake = false

    private func endHandshakeCount() {
        guard countsAsHandshake else { return }
        countsAsHandshake = false
        transport.handshakeEnded()
    }

    private func reject(_ context: ChannelHandlerContext, _ reason: String) {
        if case .closed = state { return }
        let wasEstablished: PeerID? = { if case .established(let peer) = state { return peer } else { return nil } }()
        endHandshakeCount()
        // The splitter places no more of this connection's frames, even those still in its read.
        rules.peer = nil
        transport.recordRejection("dropping connection from \(context.remoteAddress.map { "\($0)" } ?? "unknown"): \(reason)")
        established?.fail(TCPTransportError.handshakeFailed(reason))
        established = nil
        state = .closed
        timeout?.cancel()
        if let peer = wasEstablished { transport.connectionLost(peer: peer, channel: context.channel) }
        context.close(promise: nil)
    }
}
