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
    /// The worker processes of jobs running on the node, as its last heartbeat said.
    public var workers: Int
}

/// What a driver asks of the head for its workers.
public struct WorkerRequest: Codable, Sendable, Equatable {
    /// The job's name, unique on the cluster.
    public var job: String
    /// The SHA-256 of the executable the workers run (uploaded first).
    public var executable: String
    public var arguments: [String]
    /// The workers' peer IDs on the driver's transport.
    public var peers: [UInt32]
    /// Where the workers connect.
    public var driverHost: String
    public var driverPort: Int
    /// The job's token, in hex: the workers prove they hold it to the driver.
    public var token: String
    /// Resource amounts per worker, by name.
    public var resources: [String: Double]
}

/// Where the head put one worker.
public struct WorkerPlacement: Codable, Sendable, Equatable {
    public var peer: UInt32
    public var node: String
}

/// What a node needs to start one worker.
struct LaunchOrder: Codable, Sendable, Equatable {
    var job: String
    var executable: String
    var arguments: [String]
    var peer: UInt32
    var driverHost: String
    var driverPort: Int
    var token: String
    /// The OpenCL device indices of the GPUs the worker holds.
    var devices: [Int]
    /// Which start of this worker the order is (see `ControlMessage.launchWorkers`).
    var attempt: Int
    /// The CPUs the worker holds: its math libraries start that many threads.
    var cpus: Double
}

/// What a node needs to start a submitted job's driver.
struct DriverOrder: Codable, Sendable, Equatable {
    var job: String
    var executable: String
    var arguments: [String]
}

/// A submitted job, for `iocompute jobs`.
public struct JobSummary: Codable, Sendable, Equatable {
    public enum State: String, Codable, Sendable {
        case running, succeeded, failed, stopped
    }

    public var job: String
    public var node: String
    public var state: State
    /// How the driver ended (`exited with status 0`), once it has.
    public var ending: String?
    public var runningFor: Double
    public var outputLines: Int
}

/// What a job's driver reports of its cluster every few seconds, for `iocompute status`.
public struct JobLoad: Codable, Sendable, Equatable {
    public var tasksRunning: Int
    public var tasksWaiting: Int
    public var tasksFinished: Int
    public var tasksFailed: Int
    public var actorsAlive: Int
    public var actorsRestarting: Int
    public var objects: Int
    public var objectBytesInMemory: Int
    public var objectBytesSpilled: Int
    /// The object store's memory cap.
    public var objectStoreCapacity: Int
    public var workersAlive: Int

    public init(_ status: ClusterStatus) {
        tasksRunning = status.tasks.running
        tasksWaiting = status.tasks.waiting
        tasksFinished = status.tasks.finished
        tasksFailed = status.tasks.failed
        actorsAlive = status.actors.alive
        actorsRestarting = status.actors.restarting
        objects = status.objectStore.objects
        objectBytesInMemory = status.objectStore.bytesInMemory
        objectBytesSpilled = status.objectStore.bytesSpilled
        objectStoreCapacity = status.objectStore.capacity
        workersAlive = status.workers.filter(\.isAlive).count
    }

    /// Whether every count is one a cluster can have (none negative).
    var isPlausible: Bool {
        [
            tasksRunning, tasksWaiting, tasksFinished, tasksFailed, actorsAlive, actorsRestarting, objects, objectBytesInMemory,
            objectBytesSpilled, objectStoreCapacity, workersAlive,
        ].allSatisfy { $0 >= 0 }
    }
}

/// The whole cluster as the head sees it, for `iocompute status`.
public struct ClusterSnapshot: Codable, Sendable, Equatable {
    public var head: String
    public var nodes: [NodeStatus]
    public var uptime: Double
    /// The jobs with workers on the cluster, by name, with where each worker runs.
    public var jobs: [String: [WorkerPlacement]]
    /// What each job's driver last reported of its tasks, actors and objects, by job.
    public var loads: [String: JobLoad]
}

/// The messages between nodes, the head and command-line clients, after TLS and the token
/// handshake authenticated both ends. Each travels as JSON in one frame (``frameKind``), capped
/// at ``maximumSize`` bytes, except the parts of executables (see `ControlMessage+Bytes.swift`).
enum ControlMessage: Codable, Sendable, Equatable {
    /// A node agent joins (or joins again after a lost connection).
    case join(NodeAnnouncement)
    /// The head's answer: accepted, or refused with a reason.
    case joined(refusal: String?)
    /// A node agent is still there.
    /// `workers`: the job worker processes running on the node now.
    case heartbeat(workers: Int)
    /// A node agent leaves on purpose.
    case leaving(reason: String)
    /// A client asks for the cluster's state.
    case statusRequest(request: UInt64)
    case status(request: UInt64, ClusterSnapshot)
    /// The answer to a request the head could not serve.
    case failed(request: UInt64, reason: String)
    /// The answer to a request that needs no data back.
    case done(request: UInt64)

    // Executables, kept by the head and the nodes under their SHA-256.
    /// Whether the head has the executable `hash`: answered with `.size`.
    case hasExecutable(request: UInt64, hash: String)
    case size(request: UInt64, Int?)
    /// A part of an upload to the head.
    case writeExecutable(request: UInt64, hash: String, offset: Int, bytes: Data)
    /// The upload is complete: the head checks its size and hash, then keeps it.
    case sealExecutable(request: UInt64, hash: String, size: Int)
    /// A node reads an executable from the head: answered with `.bytes` (empty past the end).
    case readExecutable(request: UInt64, hash: String, offset: Int)
    case bytes(request: UInt64, Data)

    // Jobs: a driver asks for workers on the nodes.
    /// Places the workers of a job on nodes: answered with `.placed`.
    case placeWorkers(request: UInt64, WorkerRequest)
    case placed(request: UInt64, [WorkerPlacement])
    /// Starts the workers placed for `job` (`peers`, or all of them).
    /// `attempt` numbers this start of those workers: their end reports carry it, so a report
    /// about a process that was replaced is told apart from one about its replacement.
    case launchWorkers(request: UInt64, job: String, peers: [UInt32]?, attempt: Int)
    /// Ends a job: its workers are stopped on every node.
    case stopJob(job: String)
    /// Stops some workers of a job (lost ones, before they are replaced).
    case stopWorkers(job: String, peers: [UInt32])
    /// From the head to a node: start one worker process.
    case launch(LaunchOrder)
    /// From the head to a node: stop the workers of `job` (`peers`, or all of them).
    case terminate(job: String, peers: [UInt32]?)
    /// From a node to the head: a worker process could not start or has exited.
    case workerEnded(job: String, peer: UInt32, attempt: Int, reason: String)
    /// From the head to a driver: a node with workers of its job is dead (they are lost too).
    case nodeLost(job: String, node: String, peers: [UInt32])
    /// From a driver: its cluster's tasks, actors and objects now (every few seconds).
    case jobLoad(job: String, JobLoad)

    // Submitted jobs: the head starts the driver on a node and keeps the job's output.
    /// Runs the uploaded executable as a job's driver: answered with `.jobStarted`; the
    /// submitter then receives the job's `.jobOutput` and its `.jobEnded`.
    case submitJob(request: UInt64, executable: String, arguments: [String])
    case jobStarted(request: UInt64, job: String, node: String)
    /// From the head to a node: start a job's driver.
    case launchDriver(DriverOrder)
    /// A line a job's driver or one of its workers printed (from a node; forwarded to followers).
    case jobOutput(job: String, line: String)
    /// A job's driver exited (from its node; forwarded to followers).
    case jobEnded(job: String, status: Int32, description: String)
    /// Lists the submitted jobs: answered with `.jobList`.
    case listJobs(request: UInt64)
    case jobList(request: UInt64, [JobSummary])
    /// The output of `job` so far, as `.jobOutput` lines then `.done`; with `follow`, later lines
    /// follow until `.jobEnded`.
    case readLog(request: UInt64, job: String, follow: Bool)
    /// Stops a submitted job's driver (its workers end with it): answered with `.done`.
    case stopSubmitted(request: UInt64, job: String)
    /// From the head to a node: end a job's driver.
    case stopDriver(job: String)

    static let frameKind: UInt16 = 0x4E01
    static let maximumSize = 1 << 20

    func frame() throws -> WireFrame {
        if let frame = bytesFrame() { return frame }
        return WireFrame(kind: Self.frameKind, payload: Array(try JSONEncoder().encode(self)))
    }

    /// The message in `frame`.
    ///
    /// - Throws: ``ControlError/malformed(_:)`` for another kind, an oversized or undecodable payload.
    init(frame: WireFrame) throws {
        if frame.kind == Self.uploadFrameKind || frame.kind == Self.bytesFrameKind {
            try self.init(bytesFrame: frame)
            return
        }
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
