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

    init(handle: ObjectHandle) { self.handle = handle }

    /// The object's value, waiting for it if the task that makes it is still running.
    ///
    /// - Throws: ``TaskError`` when the task (or one it depended on) failed, `CancellationError`
    ///   when it was cancelled, ``ClusterError`` when the cluster has shut down.
    public func get() async throws -> Value {
        try await handle.core.value(of: id, as: Value.self)
    }

    /// This ref as a task argument: the task depends on the object.
    public var taskArgument: TaskArgument<Value> { .reference(self) }

    public static func == (lhs: ObjectRef, rhs: ObjectRef) -> Bool { lhs.id == rhs.id }
    public func hash(into hasher: inout Hasher) { hasher.combine(id) }
    public var description: String { "ObjectRef<\(Value.self)>(\(id))" }
}

/// Keeps an object alive: every live handle counts as one reference in the owner's object table,
/// and the handle's deinit gives it back.
final class ObjectHandle: Sendable {
    let id: ObjectID
    let core: ClusterCore

    /// Wraps a reference the caller has already counted in the object table.
    init(adopting id: ObjectID, core: ClusterCore) {
        self.id = id
        self.core = core
    }

    deinit { core.releaseHandle(id) }
}
