import Synchronization

/// An ``ObjectRef`` that travels by identity inside an actor call's arguments, its result, or
/// any value: the message carries the object's ID, not its bytes, and the receiver reads the
/// object from the store when it calls ``get()`` — through shared memory when it shares the
/// driver's host.
///
/// This is how one large value reaches many actors: put it once and hand each actor a borrowed
/// ref, and each reads it at most once, rather than every call carrying a copy.
///
/// ```swift
/// let weights = try await cluster.put(model.weights)          // once
/// for runner in runners { try await runner.load(weights.borrowed) }
/// // in the actor:  distributed func load(_ weights: BorrowedRef<Weights>) async throws {
/// //                    apply(try await weights.get()) }
/// ```
///
/// The caller keeps the object alive for as long as its call is in flight. A worker process that
/// keeps a borrowed ref after the call returns may find the object freed:
/// ``ClusterError/transferFailed(object:reason:)`` then says so. Decoding one outside an actor call
/// or task of a cluster is a ``WireError``.
public struct BorrowedRef<Value: WireSerializable>: WireSerializable, Hashable, CustomStringConvertible {
    /// The ref this one borrows.
    public let ref: ObjectRef<Value>

    public init(_ ref: ObjectRef<Value>) { self.ref = ref }

    /// The object's identity.
    public var id: ObjectID { ref.id }

    /// The object's value, read from the store (pulled from the driver in a worker process).
    public func get() async throws -> Value { try await ref.get() }

    public func encode(to encoder: inout WireEncoder) { ref.id.encode(to: &encoder) }

    public init(from decoder: inout WireDecoder) throws(WireError) {
        let id = try ObjectID(from: &decoder)
        guard let system = ClusterActorSystem.current else {
            throw .invalid(what: "borrowed ref", reason: "decoded outside a cluster's actor call or task")
        }
        guard let handle = system.borrow(id) else {
            throw .invalid(what: "borrowed ref", reason: "object \(id) is no longer in the cluster")
        }
        ref = ObjectRef(handle: handle)
    }

    public var description: String { "BorrowedRef<\(Value.self)>(\(id))" }
}

extension ObjectRef {
    /// This ref, to pass by identity inside an actor call or a value (see ``BorrowedRef``).
    public var borrowed: BorrowedRef<Value> { BorrowedRef(self) }
}

/// Hands out the objects of a cluster to refs decoded in one of its processes: the driver's
/// object table (where a decoded ref is counted like any other), or a worker process's pulls
/// through its driver (where it counts nothing).
protocol ObjectLender: AnyObject, Sendable {
    /// A handle to `id` for a ref decoded here, or `nil` when the object is gone.
    func borrow(_ id: ObjectID) -> ObjectHandle?
    /// The value of a borrowed object.
    func borrowedValue<T: WireSerializable>(of id: ObjectID, as type: T.Type) async throws -> T
}

/// A weak reference to the lender of an actor system (its core or worker node owns the system).
struct WeakLender: Sendable {
    weak var lender: (any ObjectLender)?
}

extension ClusterActorSystem {
    /// Makes refs decoded by this system borrow from `lender`.
    func lendObjects(from lender: any ObjectLender) { lenderBox.withLock { $0 = WeakLender(lender: lender) } }

    /// A handle for a ref to `id` decoded by this system; `nil` without a lender or object.
    func borrow(_ id: ObjectID) -> ObjectHandle? { lenderBox.withLock { $0.lender }?.borrow(id) }
}

extension ClusterCore: ObjectLender {
    /// Counts one more handle to `id`, as long as the object is still in the table.
    func borrow(_ id: ObjectID) -> ObjectHandle? {
        let flag = state.withLock { state -> SettleFlag? in
            guard state.objects[id] != nil else { return nil }
            state.objects[id]!.handles += 1
            return state.objects[id]!.flag
        }
        return flag.map { ObjectHandle(adopting: id, core: self, flag: $0) }
    }

    func borrowedValue<T: WireSerializable>(of id: ObjectID, as type: T.Type) async throws -> T { try await value(of: id, as: type) }
}

extension WorkerNode: ObjectLender {
    /// A handle that pulls `id` through the driver when read; it does not keep the object alive.
    func borrow(_ id: ObjectID) -> ObjectHandle? { ObjectHandle(borrowing: id, from: self) }

    func borrowedValue<T: WireSerializable>(of id: ObjectID, as type: T.Type) async throws -> T {
        if objects.isPinned(id) {
            throw ClusterError.pinned(
                object: id, worker: Int(peer.rawValue) - 1, reason: "it cannot be read outside the tasks and actors given it")
        }
        let payload: Payload
        if let kept = objects.payload(of: id) { payload = kept } else { payload = try await pull(id) }
        return try payload.value(as: T.self, object: id)
    }
}
