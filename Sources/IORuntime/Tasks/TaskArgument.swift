import Synchronization

/// A task argument: a value, a reference the task waits for, or a gathered list of references
/// that arrives as one array.
public struct TaskArgument<Value: WireSerializable>: Sendable {
    enum Storage: Sendable {
        case value(Value)
        case reference(ObjectID, ObjectHandle)
        /// Several objects whose values the task receives together, as `Value` (an array).
        case gathered([ObjectID], [ObjectHandle], assemble: @Sendable ([Payload]) throws -> any WireSerializable)
    }
    let storage: Storage

    /// A value passed directly.
    public static func value(_ value: Value) -> TaskArgument { TaskArgument(storage: .value(value)) }

    /// A reference to an object; the task depends on it and runs after it is ready.
    public static func reference(_ ref: ObjectRef<Value>) -> TaskArgument {
        TaskArgument(storage: .reference(ref.id, ref.handle))
    }
}

/// Something that can stand as a task argument of type ``ArgumentValue``: every
/// ``WireSerializable`` value (for itself), every ``ObjectRef`` (for the value it refers to), and
/// ``GatheredRefs`` (for an array of the values they refer to).
///
/// This is what lets `cluster.submit(f, 3, ref)` mix plain values and references in one call
/// while the compiler still checks each argument against the function's parameter type.
public protocol TaskArgumentConvertible<ArgumentValue>: Sendable {
    /// The type of the parameter this stands for.
    associatedtype ArgumentValue: WireSerializable
    /// This argument as a value or references.
    var taskArgument: TaskArgument<ArgumentValue> { get }
}

/// Refs whose values a task receives as one array parameter, after all of them are ready: the
/// fan-in of a task graph.
///
/// ```swift
/// var parts: [ObjectRef<Int>] = []
/// for x in 0..<100 { parts.append(try await cluster.submit(square, x)) }
/// let total = try await cluster.submit(sum, parts.gathered())   // sum: ([Int]) -> Int
/// ```
public struct GatheredRefs<Element: WireSerializable>: TaskArgumentConvertible {
    /// The refs, in the order their values will appear.
    public let refs: [ObjectRef<Element>]

    public init(_ refs: [ObjectRef<Element>]) { self.refs = refs }

    public var taskArgument: TaskArgument<[Element]> {
        TaskArgument(
            storage: .gathered(
                refs.map(\.id), refs.map(\.handle),
                assemble: { payloads in try payloads.map { try $0.value(as: Element.self) } }))
    }
}

extension Array {
    /// These refs as one task argument of type `[Value]`: the task waits for all of them.
    public func gathered<Value>() -> GatheredRefs<Value> where Element == ObjectRef<Value> { GatheredRefs(self) }
}

/// Facts about the task running on the current Swift task.
public enum TaskContext {
    /// The index of the worker running the current task (`nil` outside a task).
    @TaskLocal public static var worker: Int?
    /// The registered name of the current task's function (`nil` outside a task).
    @TaskLocal public static var taskName: String?

    /// The OpenCL device indices of the GPUs this worker process holds: bound by the node that
    /// started it, when its job asked for `gpu` resources per worker (empty elsewhere). A task
    /// that needs `gpu: 1` runs on a worker that holds one, and opens `gpuDevices[0]`.
    public static var gpuDevices: [Int] { boundDevices.withLock { $0 } }

    /// Binds this process's GPUs (a worker does, once, when it starts).
    package static func bindDevices(_ devices: [Int]) { boundDevices.withLock { $0 = devices } }

    private static let boundDevices = Mutex<[Int]>([])
}
