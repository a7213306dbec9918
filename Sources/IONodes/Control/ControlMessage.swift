import Foundation
import IORuntime

/// What a node says about itself when it joins: the name its certificate gives, the resources it
/// offers, its labels, and where it can be reached.
public struct NodeAnnouncement: Codable, Sendable, Equatable {
    public var name: String
    /// Resource amounts by name (`cpu`, `memory` in bytes, `gpu`, or a custom one).
    public var resources: [String: Double]
    public var labels: [String: String]
    /// The address other nodes reach this one at (its host, as the head saw or as configured).
    public var host: String
    /// The OpenCL devices counted as `gpu`, by device index.
    public var gpuDevices: [Int]

    public init(name: String, resources: [String: Double], labels: [String: String] = [:], host: String = "", gpuDevices: [Int] = []) {
        self.name = name
        self.resources = resources
        self.labels = labels
        self.host = host
        self.gpuDevices = gpuDevices
    }
}

/// One node as the head sees it.
public struct NodeStatus: Codable, Sendable, Equatable {
    public enum State: String, Codable, Sendable {
        case alive
        /// Stopped answering heartbeats or lost its connection; its work is recovered elsewhere.
        case dead
        /// Left on purpose (`iocompute stop`).
        case left
    }

    public var announcement: NodeAnnouncement
    public var state: State
    /// Why the node is dead or left.
    public var reason: String?
    /// Seconds since the head last heard from the node.
    public var silentFor: Double
    /// Resource amounts in use by jobs, by name.
    public var used: [String: Double]
    /// How many times the node joined (1 for a node that never came back).
    public var joins: Int
}

/// The whole cluster as the head sees it, for `iocompute status`.
public struct ClusterSnapshot: Codable, Sendable, Equatable {
    public var head: String
    public var nodes: [NodeStatus]
    public var uptime: Double
}

/// The messages between nodes, the head and command-line clients, after TLS and the token
/// handshake authenticated both ends. Each travels as JSON in one frame (``frameKind``), capped
/// at ``maximumSize`` bytes.
enum ControlMessage: Codable, Sendable, Equatable {
    /// A node agent joins (or joins again after a lost connection).
    case join(NodeAnnouncement)
    /// The head's answer: accepted, or refused with a reason.
    case joined(refusal: String?)
    /// A node agent is still there.
    case heartbeat
    /// A node agent leaves on purpose.
    case leaving(reason: String)
    /// A client asks for the cluster's state.
    case statusRequest(request: UInt64)
    case status(request: UInt64, ClusterSnapshot)
    /// The answer to a request the head could not serve.
    case failed(request: UInt64, reason: String)

    static let frameKind: UInt16 = 0x4E01
    static let maximumSize = 1 << 20

    func frame() throws -> WireFrame {
        WireFrame(kind: Self.frameKind, payload: Array(try JSONEncoder().encode(self)))
    }

    /// The message in `frame`.
    ///
    /// - Throws: ``ControlError/malformed(_:)`` for another kind, an oversized or undecodable payload.
    init(frame: WireFrame) throws {
        guard frame.kind == Self.frameKind else { throw ControlError.malformed("a frame of kind \(frame.kind)") }
        guard frame.payload.count <= Self.maximumSize else { throw ControlError.malformed("\(frame.payload.count) bytes") }
        do {
            self = try JSONDecoder().decode(ControlMessage.self, from: Data(frame.payload))
        } catch {
            throw ControlError.malformed("\(error)")
        }
    }
}

/// An error of the cluster's control plane.
public enum ControlError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A message that does not parse.
    case malformed(String)
    /// The head refused a node or a request.
    case refused(String)
    /// No answer within the time allowed.
    case timedOut(String)
    /// The connection to the head closed.
    case disconnected
    /// A malformed `HOST:PORT`.
    case invalidAddress(String)

    public var description: String {
        switch self {
        case .malformed(let what): "a malformed control message: \(what)"
        case .refused(let reason): "refused: \(reason)"
        case .timedOut(let what): "no answer: \(what)"
        case .disconnected: "the connection to the head closed"
        case .invalidAddress(let text): "\"\(text)\" is not HOST:PORT"
        }
    }
}

/// A `HOST:PORT` address.
public struct NodeAddress: Sendable, Equatable, CustomStringConvertible {
    public let host: String
    public let port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `HOST:PORT` (`[v6]:PORT` for an IPv6 address).
    public init(parsing text: String) throws {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (1...65535).contains(port) else {
            throw ControlError.invalidAddress(text)
        }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { throw ControlError.invalidAddress(text) }
        self.init(host: host, port: port)
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
