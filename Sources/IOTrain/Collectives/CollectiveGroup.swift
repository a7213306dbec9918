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
    private let gate = SerialGate()
    /// The last collective's buffer, reused when nothing borrows it any more: a fresh buffer's
    /// first touch costs page faults that take longer than the data's trip over loopback.
    private let spare = Mutex<RingBuffer?>(nil)
    /// The number of the next collective (ranks count in step, so every message names its call).
    private let sequence = Atomic<UInt64>(0)
    /// Point-to-point messages sent to and received from each neighbour, counted apart from the
    /// collectives (which every rank calls, unlike sends).
    private let pointToPoint = Mutex(PointToPointCounts())

    private struct PointToPointCounts {
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
        let secret = cluster?.derivedSecret(for: Rendezvous.tokenPurpose(name))
        let rendezvous = try await Rendezvous.open(group: name, size: size, host: options.host, secret: secret)
        let parts = options.timeout.components
        let milliseconds = Int(parts.seconds) * 1000 + Int(parts.attoseconds / 1_000_000_000_000_000)
        let invitations = (0..<size).map { rank in
            CollectiveInvitation(
                group: name, rank: rank, size: size, rendezvousProcess: ProcessIdentity.current, rendezvousHost: options.host,
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

    // MARK: Point to point

    /// The most axes a tensor sent point to point may have.
    static let maximumSentRank = 16

    /// Sends `tensor` to a neighbouring rank — the next (`rank + 1`, wrapping round) or the
    /// previous — which takes it with ``receive(_:from:)``: a pipeline's activations go forward
    /// this way and its gradients back. Sends and receives between two ranks pair up in order;
    /// collectives in between must be called by every rank as usual. Returns once the tensor is
    /// handed to the transport (in process: to the receiver's queue).
    ///
    /// - Throws: ``CollectiveError/invalidArgument(_:)`` for a rank that is not a neighbour (or this
    ///   rank) or a tensor of more than 16 axes, and the group's failure if it broke.
    public func send<Scalar: CollectiveScalar>(_ tensor: Tensor<Scalar>, to destination: Int) async throws {
        let toNext = try neighbour(destination, sending: true)
        guard tensor.rank <= Self.maximumSentRank else {
            throw CollectiveError.invalidArgument(
                "a tensor of \(tensor.rank) axes; point-to-point sends take at most \(Self.maximumSentRank)")
        }
        let kind: CollectiveOperation = toNext ? .sendToNext : .sendToPrevious
        let direction: RankEndpoint.Direction = toNext ? .toNext : .toPrevious
        try await exclusivePointToPoint {
            let number = pointToPoint.withLock { counts -> UInt64 in
                defer { if toNext { counts.sentToNext += 1 } else { counts.sentToPrevious += 1 } }
                return toNext ? counts.sentToNext : counts.sentToPrevious
            }
            // First the shape (rank, then the dimensions, as Int64), then the elements in chunks.
            var shape = [Int64](repeating: 0, count: Self.maximumSentRank + 1)
            shape[0] = Int64(tensor.rank)
            for (axis, dimension) in tensor.shape.enumerated() { shape[axis + 1] = Int64(dimension) }
            let header = copy(Tensor<Int64>(shape))
            try await endpoint.send(
                sequence: number, step: 0, chunk: 0, operation: kind, elementSize: 8,
                elements: UnsafeRawBufferPointer(start: header.base, count: shape.count * 8), direction: direction)
            let buffer = copy(tensor)
            let plan = RingPlan(bounds: [0, tensor.count], elementSize: MemoryLayout<Scalar>.stride, chunkBytes: chunkBytes)
            for chunk in 0..<plan.chunksPerSegment {
                let range = plan.chunk(chunk, of: 0)
                let bytes = UnsafeRawBufferPointer(
                    start: buffer.base + range.lowerBound * plan.elementSize, count: range.count * plan.elementSize)
                try await endpoint.send(
                    sequence: number, step: 1, chunk: chunk, operation: kind, elementSize: plan.elementSize, elements: bytes,
                    direction: direction)
            }
        }
    }

    /// The next tensor a neighbouring rank sent this one with ``send(_:to:)``, waiting for it.
    ///
    /// - Throws: ``CollectiveError/invalidArgument(_:)`` for a rank that is not a neighbour,
    ///   ``CollectiveError/mismatch(group:reason:)`` when the sender sent another element type or
    ///   was in a collective, ``CollectiveError/peerLost(group:rank:)`` when it left without sending.
    public func receive<Scalar: CollectiveScalar>(_ type: Scalar.Type = Scalar.self, from source: Int) async throws -> Tensor<Scalar> {
        let fromPrevious = try neighbour(source, sending: false)
        let kind: CollectiveOperation = fromPrevious ? .sendToNext : .sendToPrevious
        return try await exclusivePointToPoint {
            let number = pointToPoint.withLock { counts -> UInt64 in
                defer { if fromPrevious { counts.receivedFromPrevious += 1 } else { counts.receivedFromNext += 1 } }
                return fromPrevious ? counts.receivedFromPrevious : counts.receivedFromNext
            }
            let shapePlan = RingPlan(bounds: [0, Self.maximumSentRank + 1], elementSize: 8, chunkBytes: chunkBytes)
            let header = try await receive(
                shapePlan, sequence: number, step: 0, chunk: 0, as: kind, count: Self.maximumSentRank + 1, fromNext: !fromPrevious)
            let dimensions = header.withElements { raw in
                (0...Self.maximumSentRank).map { Int(raw.load(fromByteOffset: $0 * 8, as: Int64.self)) }
            }
            let axes = dimensions[0]
            guard (0...Self.maximumSentRank).contains(axes), dimensions[1...].prefix(axes).allSatisfy({ $0 >= 0 }) else {
                let error = CollectiveError.malformedMessage(group: name, reason: "a sent tensor's shape \(dimensions)")
                endpoint.breakGroup(error)
                throw error
            }
            let shape = Array(dimensions[1...].prefix(axes))
            // The sender chose the shape: its size is checked before anything is allocated.
            guard let count = Self.receivableCount(shape, elementSize: MemoryLayout<Scalar>.stride) else {
                let error = CollectiveError.malformedMessage(
                    group: name, reason: "a sent tensor's shape \(shape) is larger than this machine's memory")
                endpoint.breakGroup(error)
                throw error
            }
            let buffer = RingBuffer(byteCount: count * MemoryLayout<Scalar>.stride)
            let plan = RingPlan(bounds: [0, count], elementSize: MemoryLayout<Scalar>.stride, chunkBytes: chunkBytes)
            for chunk in 0..<plan.chunksPerSegment {
                let range = plan.chunk(chunk, of: 0)
                let message = try await receive(
                    plan, sequence: number, step: 1, chunk: chunk, as: kind, count: range.count, fromNext: !fromPrevious)
                message.withElements { source in
                    if let from = source.baseAddress {
                        (buffer.base + range.lowerBound * plan.elementSize).copyMemory(from: from, byteCount: source.count)
                    }
                }
            }
            return try buffer.tensor(Scalar.self, 0..<count, shape: shape)
        }
    }

    /// The element count of a tensor of `shape` that a peer announced, or `nil` when its count
    /// or byte size overflows or exceeds this machine's physical memory.
    static func receivableCount(_ shape: [Int], elementSize: Int) -> Int? {
        var count = 1
        for dimension in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
            guard dimension >= 0, !overflow else { return nil }
            count = product
        }
        let (bytes, overflow) = count.multipliedReportingOverflow(by: elementSize)
        guard !overflow, UInt64(bytes) <= ProcessInfo.processInfo.physicalMemory else { return nil }
        return count
    }

    /// Whether `other` is the next rank (else the previous); throws when it is neither. With two
    /// ranks the other is both: sends go forward, so receives come from the previous rank.
    private func neighbour(_ other: Int, sending: Bool) throws -> Bool {
        guard size > 1, other != rank, other == endpoint.nextRank || other == endpoint.previousRank else {
            throw CollectiveError.invalidArgument(
                "rank \(rank) can \(sending ? "send to" : "receive from") its neighbours \(endpoint.previousRank) and \(endpoint.nextRank) only, not \(other)"
            )
        }
        return sending ? other == endpoint.nextRank : other == endpoint.previousRank
    }

    /// Runs a point-to-point operation, one operation of this rank at a time.
    private func exclusivePointToPoint<R: Sendable>(_ body: () async throws -> R) async throws -> R {
        try await gate.enter()
        defer { gate.leave() }
        if let failure = endpoint.failure { throw failure }
        return try await body()
    }

    // MARK: Ring phases

    /// Ring reduce-scatter: after `size − 1` steps this rank's segment holds the reduction of all.
    /// At step `s` rank `r` sends segment `r − s − 1` and reduces segment `r − s − 2` into its own
    /// copy; each chunk it reduces goes on at once as the next step's chunk.
    ///
    /// The buffer starts empty and `source` is never copied in whole: the first segment is sent
    /// straight from `source`, and each reduced chunk is written as `source` ⊕ received in one
    /// pass. The first segment's place in the buffer stays unwritten; the allgather fills it.
    private func reduceScatter<Scalar: CollectiveScalar>(
        _ buffer: RingBuffer, _ source: Tensor<Scalar>, _ plan: RingPlan, _ operation: ReduceOperation, sequence: UInt64,
        as kind: CollectiveOperation
    ) async throws {
        guard size > 1 else { return Self.copy(source, into: buffer, at: 0) }
        let first = (rank + size - 1) % size
        // The first segment goes out straight from the input; the allgather refills it later.
        for chunk in 0..<plan.chunksPerSegment {
            let range = plan.chunk(chunk, of: first)
            try await endpoint.send(
                sequence: sequence, step: 0, chunk: chunk, operation: kind, elementSize: plan.elementSize,
                byteCount: range.count * plan.elementSize
            ) { body in
                source.withUnsafeBytes { raw in
                    body(UnsafeRawBufferPointer(rebasing: raw[range.lowerBound * plan.elementSize..<range.upperBound * plan.elementSize]))
                }
            }
        }
        for step in 0..<(size - 1) {
            let segment = ((rank - step - 2) % size + size) % size
            for chunk in 0..<plan.chunksPerSegment {
                let range = plan.chunk(chunk, of: segment)
                let message = try await receive(plan, sequence: sequence, step: step, chunk: chunk, as: kind, count: range.count)
                // This rank's part of the chunk and the one received, reduced in one pass.
                message.withElements { received in
                    source.withUnsafeBytes { own in
                        guard let mine = own.baseAddress, let theirs = received.baseAddress, !range.isEmpty else { return }
                        Scalar.combine(
                            operation, into: buffer.elements(Scalar.self, range), first: mine + range.lowerBound * plan.elementSize,
                            second: theirs, count: range.count)
                    }
                }
                if step < size - 2 {
                    try await send(buffer, plan, range, sequence: sequence, step: step + 1, chunk: chunk, as: kind)
                }
            }
        }
    }

    /// Ring allgather: this rank's segment `r` travels round the ring, and it receives segment
    /// `r − s − 1` at step `s`, forwarding each chunk as it lands.
    private func allgather(_ buffer: RingBuffer, _ plan: RingPlan, sequence: UInt64, as kind: CollectiveOperation, firstStep: Int)
        async throws
    {
        guard size > 1 else { return }
        for chunk in 0..<plan.chunksPerSegment {
            try await send(buffer, plan, plan.chunk(chunk, of: rank), sequence: sequence, step: firstStep, chunk: chunk, as: kind)
        }
        for step in 0..<(size - 1) {
            let segment = ((rank - step - 1) % size + size) % size
            for chunk in 0..<plan.chunksPerSegment {
                let range = plan.chunk(chunk, of: segment)
                let message = try await receive(
                    plan, sequence: sequence, step: firstStep + step, chunk: chunk, as: kind, count: range.count)
                message.withElements { source in
                    if let from = source.baseAddress {
                        (buffer.base + range.lowerBound * plan.elementSize).copyMemory(from: from, byteCount: source.count)
                    }
                }
                if step < size - 2 { try await endpoint.send(message.restepped(firstStep + step + 1)) }
            }
        }
    }

    // MARK: Messages

    /// Sends the elements `range` of `buffer` as one chunk.
    private func send(
        _ buffer: RingBuffer, _ plan: RingPlan, _ range: Range<Int>, sequence: UInt64, step: Int, chunk: Int, as kind: CollectiveOperation
    ) async throws {
        let bytes = UnsafeRawBufferPointer(start: buffer.base + range.lowerBound * plan.elementSize, count: range.count * plan.elementSize)
        try await endpoint.send(
            sequence: sequence, step: step, chunk: chunk, operation: kind, elementSize: plan.elementSize, elements: bytes)
    }

    /// The next message, checked against what this rank expects; a mismatch breaks the group.
    private func receive(
        _ plan: RingPlan, sequence: UInt64, step: Int, chunk: Int, as kind: CollectiveOperation, count: Int, fromNext: Bool = false
    ) async throws -> CollectiveMessage {
        let elementSize = plan.elementSize
        let message = try await endpoint.receive(fromNext: fromNext)
        var problem: String?
        if message.operation != kind || message.sequence != sequence {
            problem =
                "rank \(rank) is in \(kind) #\(sequence), rank \(endpoint.previousRank) sent \(message.operation) #\(message.sequence)"
        } else if message.step != UInt32(step) || message.chunk != UInt32(chunk) {
            problem = "\(kind) #\(sequence): expected step \(step) chunk \(chunk), got step \(message.step) chunk \(message.chunk)"
        } else if Int(message.elementSize) != elementSize || message.elementByteCount != count * elementSize {
            problem =
                "\(kind) #\(sequence): rank \(rank) expected \(count) elements of \(elementSize) bytes, rank \(endpoint.previousRank) sent \(message.elementByteCount) bytes of \(message.elementSize)-byte elements (different shapes or types)"
        }
        if let problem {
            let error = CollectiveError.mismatch(group: name, reason: problem)
            endpoint.breakGroup(error)
            throw error
        }
        return message
    }

    // MARK: Helpers

    /// Runs one collective at a time with its sequence number.
    private func exclusive<R: Sendable>(_ body: (UInt64) async throws -> R) async throws -> R {
        try await gate.enter()
        defer { gate.leave() }
        if let failure = endpoint.failure { throw failure }
        let number = sequence.add(1, ordering: .relaxed).oldValue
        return try await body(number)
    }

    private func copy<Scalar: TensorScalar>(_ tensor: Tensor<Scalar>) -> RingBuffer {
        let buffer = buffer(byteCount: tensor.count * MemoryLayout<Scalar>.stride)
        Self.copy(tensor, into: buffer, at: 0)
        return buffer
    }

    /// A buffer of `byteCount` bytes: the spare one when no tensor borrows it and it is the
    /// right size, a new one otherwise (which becomes the spare if it is large).
    private func buffer(byteCount: Int) -> RingBuffer {
        guard byteCount >= 1 << 20 else { return RingBuffer(byteCount: byteCount) }
        return spare.withLock { spare in
            if var candidate = spare.take() {
                if isKnownUniquelyReferenced(&candidate), candidate.byteCount == byteCount {
                    spare = candidate
                    return candidate
                }
            }
            let fresh = RingBuffer(byteCount: byteCount)
            spare = fresh
            return fresh
        }
    }

    private static func copy<Scalar: TensorScalar>(_ tensor: Tensor<Scalar>, into buffer: RingBuffer, at offset: Int) {
        tensor.contiguous().withUnsafeBytes { raw in
            if let base = raw.baseAddress {
                (buffer.base + offset * MemoryLayout<Scalar>.stride).copyMemory(from: base, byteCount: raw.count)
            }
        }
    }
}

/// An asynchronous lock: one holder at a time, waiters in arrival order. A waiter whose task is
/// cancelled leaves the line with `CancellationError`; the lock then passes over it.
final class SerialGate: Sendable {
    private struct State {
        var held = false
        var waiters: [OneShot<Void>] = []
    }

    private let state = Mutex(State())

    func enter() async throws {
        let waiter = OneShot<Void>()
        let now = state.withLock { state -> Bool in
            if !state.held {
                state.held = true
                return true
            }
            state.waiters.append(waiter)
            return false
        }
        if now { return }
        try await waiter.value()
    }

    func leave() {
        state.withLock { state in
            while !state.waiters.isEmpty {
                if state.waiters.removeFirst().resume() { return }
            }
            state.held = false
        }
    }
}
