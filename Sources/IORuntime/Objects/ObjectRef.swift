/// A typed future for an object in the cluster: the result of a task, or a value put in the
/// object store.
///
/// Refs are cheap to copy and can be passed to other tasks as arguments, which makes those tasks
/// depend on the object. The object lives while any copy of any ref to it does (and while a task
/// that takes it is waiting); dropping the last one frees it.
///
/// ```swift
/// let ref = try await cluster.submit(square, 12)   // ObjectRef<Int>, at once
/// let value = try await ref.get()                  // 144, when the task is done
/// ```
public struct ObjectRef<Value: WireSerializable>: Sendable, Hashable, CustomStringConvertible, TaskArgumentConvertible {
    /// The object's identity.
    public var id: ObjectID { handle.id }
    let handle: ObjectHandle

    /// Whether the object is ready or has failed, read without the cluster's lock (a moment
    /// behind at most).
    var isSettled: Bool { handle.flag.isSettled }

    /// Whether every ref in `refs` is ready or has failed, read without the cluster's lock (a
    /// moment behind at most). The handles are read straight from the array's storage: a ref is
    /// a single handle reference (checked below), so no generic code runs per element. This
    /// function is not specialized for the caller's `Value`, and a generic loop over the refs
    /// costs tens of nanoseconds per ref where this costs one or two.
    static func allSettled(_ refs: [ObjectRef]) -> Bool {
        guard MemoryLayout<ObjectRef>.size == MemoryLayout<ObjectHandle>.size else {
            return refs.allSatisfy(\.isSettled)
        }
        return refs.withUnsafeBytes { storage in
            for offset in stride(from: 0, to: storage.count, by: MemoryLayout<ObjectRef>.stride) {
                let handle = storage.load(fromByteOffset: offset, as: Unmanaged<ObjectHandle>.self)
                if !handle.takeUnretainedValue().flag.isSettled { return false }
            }
            return true
        }
    }

    init(handle: ObjectHandle) { self.handle = handle }

    /// Whether the object is pinned to the worker that makes it (``TaskOptions/pinsResult``):
    /// it reaches code only as a task's argument or an actor's construction argument, on that
    /// worker, and ``get()`` refuses it.
    public var isPinned: Bool { handle.flag.isPinned }

    /// The object's value, waiting for it if the task that makes it is still running.
    ///
    /// - Throws: ``TaskError`` when the task (or one it depended on) failed, `CancellationError`
    ///   when it was cancelled, ``ClusterError`` when the cluster has shut down, and
    ///   ``ClusterError/pinned(object:worker:reason:)`` for a pinned object.
    public func get() async throws -> Value {
        switch handle.owner {
        case .core(let core): return try await core.value(of: id, as: Value.self)
        case .lender(let lender): return try await lender.borrowedValue(of: id, as: Value.self)
        }
    }

    /// This ref as a task argument: the task depends on the object.
    public var taskArgument: TaskArgument<Value> { .reference(self) }

    public static func == (lhs: ObjectRef, rhs: ObjectRef) -> Bool { lhs.id == rhs.id }
    public func hash(into hasher: inout Hasher) { hasher.combine(id) }
    public var description: String { "ObjectRef<\(Value.self)>(\(id))" }
}

/// Keeps an object alive: every live handle counts as one reference in the owner's object table,
/// and the handle's deinit gives it back. A handle a worker process decoded from a
/// ``BorrowedRef`` counts nothing: the caller that sent it keeps the object alive.
final class ObjectHandle: Sendable {
    enum Owner: Sendable {
        /// Counted in this process's object table.
        case core(ClusterCore)
        /// Borrowed by a worker process, read through its driver.
        case lender(any ObjectLender)
    }

    let id: ObjectID
    let owner: Owner
    /// The entry's settled flag (a borrowed handle's is never set: only the owner can wait).
    let flag: SettleFlag

    /// The object table the handle counts in; `nil` for a borrowed one.
    var core: ClusterCore? {
        if case .core(let core) = owner { return core }
        return nil
    }

    /// Wraps a reference the caller has already counted in the object table, whose entry holds
    /// `flag`.
    init(adopting id: ObjectID, core: ClusterCore, flag: SettleFlag) {
        self.id = id
        owner = .core(core)
        self.flag = flag
    }

    /// A handle that reads `id` through `lender` and keeps nothing alive.
    init(borrowing id: ObjectID, from lender: any ObjectLender) {
        self.id = id
        owner = .lender(lender)
        flag = SettleFlag()
    }

    deinit {
        if case .core(let core) = owner { core.releaseHandle(id) }
    }
}
