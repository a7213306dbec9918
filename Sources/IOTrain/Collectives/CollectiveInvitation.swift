import IORuntime

/// Where a rank of a collective group can be reached.
struct CollectiveAddress: Sendable, Equatable {
    /// The process the rank lives in (``ProcessIdentity/current``).
    var process: UInt64
    /// The host and port its connections are accepted on; port 0 when it accepts none (a rank of
    /// a process without a multi-process cluster, which only ranks in the same process can reach).
    var host: String
    var port: Int
}

extension CollectiveAddress: WireSerializable {
    func encode(to encoder: inout WireEncoder) {
        encoder.write(process)
        encoder.write(host)
        encoder.writeLength(port)
    }

    init(from decoder: inout WireDecoder) throws(WireError) {
        process = try decoder.read(UInt64.self)
        host = try decoder.read(String.self)
        port = try decoder.readLength()
        guard port <= 65535 else { throw .invalid(what: "collective address", reason: "port \(port)") }
    }
}

/// What a rank needs to join a collective group: the group's name, its rank and size, where the
/// rendezvous runs, and the group's options. Made by ``CollectiveGroup/form(size:on:options:join:)``
/// on the driver and passed to the rank (an actor-method or task argument), which calls
/// ``CollectiveGroup/join(_:)`` with it.
public struct CollectiveInvitation: Sendable, Equatable {
    /// The group's unique name.
    public let group: String
    /// This rank's number, from 0.
    public let rank: Int
    /// The number of ranks.
    public let size: Int
    /// The process that runs the rendezvous.
    let rendezvousProcess: UInt64
    /// Where ranks in other processes reach the rendezvous (port 0: only in process).
    let rendezvousHost: String
    let rendezvousPort: Int
    /// How long forming the group may take, in milliseconds.
    let timeoutMilliseconds: Int
    /// The bytes per message of a collective's pipeline.
    let chunkBytes: Int
    /// Whether ranks on one host in different processes may use shared memory.
    let sharedMemory: Bool
}

extension CollectiveInvitation: WireSerializable {
    public func encode(to encoder: inout WireEncoder) {
        encoder.write(group)
        encoder.writeLength(rank)
        encoder.writeLength(size)
        encoder.write(rendezvousProcess)
        encoder.write(rendezvousHost)
        encoder.writeLength(rendezvousPort)
        encoder.writeLength(timeoutMilliseconds)
        encoder.writeLength(chunkBytes)
        encoder.write(sharedMemory)
    }

    public init(from decoder: inout WireDecoder) throws(WireError) {
        group = try decoder.read(String.self)
        rank = try decoder.readLength()
        size = try decoder.readLength()
        rendezvousProcess = try decoder.read(UInt64.self)
        rendezvousHost = try decoder.read(String.self)
        rendezvousPort = try decoder.readLength()
        timeoutMilliseconds = try decoder.readLength()
        chunkBytes = try decoder.readLength()
        sharedMemory = try decoder.read(Bool.self)
        guard size > 0, rank < size, rendezvousPort <= 65535, chunkBytes > 0 else {
            throw .invalid(what: "collective invitation", reason: "rank \(rank) of \(size), port \(rendezvousPort), chunk \(chunkBytes)")
        }
    }

    public static var wireTypeName: String { "IOTrain.CollectiveInvitation" }
}

/// A random number that names this process among the processes of a cluster: ranks with the
/// same one talk through memory instead of sockets.
enum ProcessIdentity {
    static let current: UInt64 = UInt64.random(in: 1...UInt64.max)
}
