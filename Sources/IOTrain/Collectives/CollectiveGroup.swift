import Foundation
import IORuntime
import IOTensor
import Synchronization

/// A group of ranks that exchange tensors with collective operations — allreduce,
/// reduce-scatter, allgather, broadcast, barrier — as NCCL, Gloo or `torch.distributed` do.
///
/// Every rank calls the same collectives in the same order with tensors of the same shape; each
/// call returns when this rank's part is done. The ranks form a ring: each sends to the next and
/// receives from the previous, so a ring allreduce sends each rank's 2(n−1)/n of the data — the
/// least any algorithm can — whatever the group's size. Data moves in chunks
/// (``Options/chunkBytes``), so that sending one chunk overlaps reducing the one before. Ranks in
/// the same process exchange chunks in memory; ranks in different processes over their own TCP
/// connections, authenticated with a token derived from the cluster's.
///
/// Form a group from the driver with ``form(size:on:options:join:)``, which hands each rank an
/// ``CollectiveInvitation`` that the rank (an actor, usually) turns into its group with
/// ``join(_:)``:
///
/// ```swift
/// distributed actor Replica {
///     typealias ActorSystem = ClusterActorSystem
///     var group: CollectiveGroup?
///     distributed func join(_ invitation: CollectiveInvitation) async throws {
///         group = try await CollectiveGroup.join(invitation)
///     }
///     distributed func sum(_ values: Tensor<Float>) async throws -> Tensor<Float> {
///         try await group!.allreduce(values)
///     }
/// }
/// var replicas: [Replica] = []
/// for _ in 0..<4 { replicas.append(try await cluster.spawn(Replica.self)) }
/// try await CollectiveGroup.form(size: 4, on: cluster) { rank, invitation in try await replicas[rank].join(invitation) }
/// ```
///
/// When a rank's process dies or its connection closes, the collectives in progress and every
/// later one on its neighbours throw ``CollectiveError/peerLost(group:rank:)``; form a new group
/// from the ranks that remain.
public final class CollectiveGroup: Sendable {
    /// How a group forms and moves data.
    public struct Options: Sendable {
        /// The bytes one message carries at most (1 MiB by default).
        public var chunkBytes: Int
        /// How long forming the group may take before it fails with
        /// ``CollectiveError/rendezvousTimedOut(group:arrived:expected:)``.
        public var timeout: Duration
        /// The host that ranks in other processes reach the rendezvous on (loopback for local
        /// worker processes).
        public var host: String
        /// Whether ranks in different processes on one host hand messages over through shared
        /// memory (on by default; off, everything goes over their TCP connections).
        public var sharedMemory: Bool

        public init(chunkBytes: Int = 1 << 20, timeout: Duration = .seconds(60), host: String = "127.0.0.1", sharedMemory: Bool = true) {
            self.chunkBytes = chunkBytes
            self.timeout = timeout
            self.host = host
            self.sharedMemory = sharedMemory
        }
    }

    /// The group's unique name.
    public var name: String { endpoint.group }
    /// This rank's number, from 0.
    public var rank: Int { endpoint.rank }
    /// Whether this rank's messages to the next rank go through shared memory (the next rank runs
    /// in another process on this host and could map this rank's slots) rather than over TCP or,
    /// in one process, straight through memory.
    public var sendsThroughSharedMemory: Bool { endpoint.sendsThroughSharedMemory }
    /// The number of ranks.
    public var size: Int { endpoint.size }

    let endpoint: RankEndpoint
    let chunkBytes: Int
    let gate = SerialGate()
    /// The last collective's buffer, reused when nothing borrows it any more: a fresh buffer's
    /// first touch costs page faults that take longer than the data's trip over loopback.
    let spare = Mutex<RingBuffer?>(nil)
    /// The number of the next collective (ranks count in step, so every message names its call).
    let sequence = Atomic<UInt64>(0)
    /// Point-to-point messages sent to and received from each neighbour, counted apart from the
    /// collectives (which every rank calls, unlike sends).
    let pointToPoint = Mutex(PointToPointCounts())

    struct PointToPointCounts {
        var sentToNext: UInt64 = 0, sentToPrevious: UInt64 = 0
        var receivedFromPrevious: UInt64 = 0, receivedFromNext: UInt64 = 0
    }

    private init(endpoint: RankEndpoint, chunkBytes: Int) {
        self.endpoint = endpoint
        self.chunkBytes = chunkBytes
    }

    // MARK: Forming

    /// Forms a group of `size` ranks from the driver of `cluster`: `join` is called concurrently
    /// for every rank with its invitation, and must make that rank call ``join(_:)`` (by calling
    /// a method of the actor that will be the rank). Returns once every rank has joined.
    ///
    /// Without a cluster, or with an in-process one, the ranks must live in this process.
    ///
    /// - Throws: the first error of a `join`, or ``CollectiveError/rendezvousTimedOut(group:arrived:expected:)``.
    public static func form(
        size: Int, on cluster: Cluster? = nil, options: Options = Options(),
        join: @escaping @Sendable (_ rank: Int, CollectiveInvitation) async throws -> Void
    ) async throws {
        guard size > 0 else { throw CollectiveError.invalidArgument("a group needs at least one rank, not \(size)") }
        guard options.chunkBytes >= 64 else { throw CollectiveError.invalidArgument("chunks of \(options.chunkBytes) bytes are too small") }
        let name = "collective-" + String(UInt64.random(in: 0...UInt64.max), radix: 16)
        let rendezvous = try await Rendezvous.open(group: name, size: size, host: options.host, network: cluster?.peerNetwork)
        let parts = options.timeout.components
        let milliseconds = Int(parts.seconds) * 1000 + Int(parts.attoseconds / 1_000_000_000_000_000)
        let invitations = (0..<size).map { rank in
            CollectiveInvitation(
                group: name, rank: rank, size: size, rendezvousProcess: ProcessIdentity.current, rendezvousHost: rendezvous.host,
                rendezvousPort: rendezvous.port, timeoutMilliseconds: max(1, milliseconds), chunkBytes: options.chunkBytes,
                sharedMemory: options.sharedMemory)
        }
        let timer = Task {
            try await Task.sleep(for: options.timeout)
            rendezvous.timeOut()
        }
        defer { timer.cancel() }
        do {
            try await withThrowingTaskGroup(of: Void.self) { ranks in
                for invitation in invitations {
                    ranks.addTask { try await join(invitation.rank, invitation) }
                }
                do {
                    try await ranks.waitForAll()
                } catch {
                    rendezvous.fail("a rank could not join: \(error)")
                    throw error
                }
            }
        } catch {
            await rendezvous.close()
            throw error
        }
        await rendezvous.close()
    }

    /// Joins the group of `invitation` as its rank; returns once the ring is connected.
    public static func join(_ invitation: CollectiveInvitation) async throws -> CollectiveGroup {
        CollectiveGroup(endpoint: try await RankEndpoint.join(invitation), chunkBytes: invitation.chunkBytes)
    }

    /// Leaves the group and closes its connections; collectives in progress on this rank throw
    /// ``CollectiveError/closed(group:)``, and its neighbours see it as lost.
    public func leave() async { await endpoint.close() }

    // MARK: Collectives

    /// The elementwise reduction of every rank's `tensor` (same shape on each), returned on every rank.
    public func allreduce<Scalar: CollectiveScalar>(_ tensor: Tensor<Scalar>, _ operation: ReduceOperation = .sum) async throws -> Tensor<
        Scalar
    > {
        try await exclusive { sequence in
            let buffer = buffer(byteCount: tensor.count * MemoryLayout<Scalar>.stride)
            let plan = RingPlan(count: tensor.count, size: size, elementSize: MemoryLayout<Scalar>.stride, chunkBytes: chunkBytes)
            try await reduceScatter(buffer, tensor.contiguous(), plan, operation, sequence: sequence, as: .allreduce)
            try await allgather(buffer, plan, sequence: sequence, as: .allreduce, firstStep: size - 1)
            if operation == .average { Scalar.divide(buffer.elements(Scalar.self, 0..<tensor.count), count: tensor.count, by: size) }
            return try buffer.tensor(Scalar.self, 0..<tensor.count, shape: tensor.shape)
        }
    }

    /// This rank's share of the reduction of every rank's `tensor`: the reduction is cut along
    /// the first axis into `size` equal parts, and rank `r` gets part `r`.
    ///
    /// - Throws: ``CollectiveError/invalidArgument(_:)`` when the first axis does not divide by the group's size.
    public func reduceScatter<Scalar: CollectiveScalar>(_ tensor: Tensor<Scalar>, _ operation: ReduceOperation = .sum) async throws
        -> Tensor<Scalar>
    {
        guard let rows = tensor.shape.first, rows % size == 0 else {
            throw CollectiveError.invalidArgument("reduceScatter cuts the first axis into \(size) parts; shape \(tensor.shape) does not")
        }
        return try await exclusive { sequence in
            let buffer = buffer(byteCount: tensor.count * MemoryLayout<Scalar>.stride)
            let plan = RingPlan(count: tensor.count, size: size, elementSize: MemoryLayout<Scalar>.stride, chunkBytes: chunkBytes)
            try await reduceScatter(buffer, tensor.contiguous(), plan, operation, sequence: sequence, as: .reduceScatter)
            let mine = plan.segment(rank)
            if operation == .average { Scalar.divide(buffer.elements(Scalar.self, mine), count: mine.count, by: size) }
            return try buffer.tensor(Scalar.self, mine, shape: [rows / size] + tensor.shape.dropFirst())
        }
    }

    /// Every rank's `tensor` (same shape on each) joined along a new first axis in rank order:
    /// shape `[size] + tensor.shape`.
    public func allgather<Scalar: CollectiveScalar>(_ tensor: Tensor<Scalar>) async throws -> Tensor<Scalar> {
        try await exclusive { sequence in
            let count = tensor.count
            let buffer = buffer(byteCount: size * count * MemoryLayout<Scalar>.stride)
            Self.copy(tensor, into: buffer, at: rank * count)
            let plan = RingPlan(bounds: (0...size).map { $0 * count }, elementSize: MemoryLayout<Scalar>.stride, chunkBytes: chunkBytes)
            try await allgather(buffer, plan, sequence: sequence, as: .allgather, firstStep: 0)
            return try buffer.tensor(Scalar.self, 0..<(size * count), shape: [size] + tensor.shape)
        }
    }

    /// `root`'s `tensor` on every rank (the others pass a tensor of the same shape, whose values
    /// are not used).
    public func broadcast<Scalar: CollectiveScalar>(_ tensor: Tensor<Scalar>, from root: Int) async throws -> Tensor<Scalar> {
        guard (0..<size).contains(root) else { throw CollectiveError.invalidArgument("root \(root) is not a rank of a group of \(size)") }
        return try await exclusive { sequence in
            let count = tensor.count
            let buffer = copy(tensor)
            let plan = RingPlan(bounds: [0, count], elementSize: MemoryLayout<Scalar>.stride, chunkBytes: chunkBytes)
            let forwards = endpoint.nextRank != root
            for chunk in 0..<plan.chunksPerSegment {
                let range = plan.chunk(chunk, of: 0)
                if rank == root {
                    try await send(buffer, plan, range, sequence: sequence, step: 0, chunk: chunk, as: .broadcast)
                } else {
                    let message = try await receive(plan, sequence: sequence, step: 0, chunk: chunk, as: .broadcast, count: range.count)
                    message.withElements {
                        buffer.elements(Scalar.self, range).update(
                            from: $0.baseAddress!.assumingMemoryBound(to: Scalar.self), count: range.count)
                    }
                    if forwards { try await endpoint.send(message) }
                }
            }
            return try buffer.tensor(Scalar.self, 0..<count, shape: tensor.shape)
        }
    }

    /// Returns once every rank has called it.
    public func barrier() async throws {
        let arrived = try await allreduce(Tensor<Int32>([1]))
        guard arrived.scalars == [Int32(size)] else {
            throw endpoint.failure ?? CollectiveError.mismatch(group: name, reason: "barrier counted \(arrived.scalars) ranks of \(size)")
        }
    }
}
