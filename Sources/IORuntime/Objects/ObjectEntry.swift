import DequeModule
import Synchronization

/// Whether an object has been sealed or has failed, readable without the core's lock: shared by
/// its entry in the object table, which sets it whenever the entry's state changes, and by its
/// handles, through which `Cluster.wait` answers for refs that are all ready without taking the
/// lock. A read can be a moment behind the table, never ahead of it.
final class SettleFlag: Sendable {
    private let settled = Atomic<Bool>(false)
    /// Whether the object is pinned to the worker that makes it (``TaskOptions/pinsResult``):
    /// fixed when the entry is made, so reads check it without the lock.
    let isPinned: Bool

    init(pinned: Bool = false) { isPinned = pinned }

    /// Whether the object was sealed (in memory, on disk or in a worker) or failed.
    var isSettled: Bool { settled.load(ordering: .acquiring) }

    func set(_ value: Bool) { settled.store(value, ordering: .releasing) }
}

/// Where an object is in its life.
enum ObjectState {
    /// Its task has not finished.
    case pending
    /// Sealed, in memory.
    case ready(Payload)
    /// Sealed, written to disk to stay under the memory cap.
    case spilled(SpilledObject)
    /// Its task failed; every read gets this error.
    case failed(any Error)
    /// Sealed, kept by the worker process that made it (multi-process clusters); pulled from
    /// there when read.
    case remote(RemoteCopy)
}

/// An object that lives in a worker process.
struct RemoteCopy {
    let worker: Int
    let typeName: String
    let byteCount: Int
}

/// How to make an object again: the task that made it, with its inputs kept alive.
struct Lineage {
    let function: ErasedFunction
    let arguments: [TaskRecord.Slot]
    let options: TaskOptions
    let heldInputs: [ObjectHandle]
}

/// What a waiter for a pending object gets when the object is sealed in a worker process: the
/// reader looks again and pulls it.
struct ObjectSealedElsewhere: Error {}

/// Someone waiting for an object to be sealed.
enum ObjectWaiter {
    /// A reader parked in `get` (cancellation frees it; a later resume is then a no-op).
    case reader(OneShot<Payload>)
    case callback(@Sendable (Result<Payload, any Error>) -> Void)

    func resume(with result: Result<Payload, any Error>) {
        switch self {
        case .reader(let reader): reader.resume(with: result)
        case .callback(let callback): callback(result)
        }
    }
}

/// The owner's record of one object.
struct ObjectEntry {
    /// Made `.pending` (an entry made in another state sets its flag itself).
    var state: ObjectState {
        didSet { flag.set(!isPending) }
    }
    /// Live `ObjectHandle`s (refs held by users and by waiting tasks).
    var handles: Int
    var waiters: [ObjectWaiter] = []
    /// Tasks waiting for this object before they can run.
    var dependents: [UInt64] = []
    /// Bytes held in memory.
    var byteCount = 0
    /// The access clock at the last read or write, for least-recently-used spilling.
    var lastAccess: UInt64 = 0
    /// The worker that made it, for locality.
    var location: Int?
    /// The task that makes it, while it is pending.
    var producer: UInt64?
    /// How to make it again if the worker holding its only copy is lost.
    var lineage: Lineage?
    /// Mirrors `state` for readers without the lock; the object's handles hold it too.
    var flag = SettleFlag()

    /// Whether the object is still being made.
    var isPending: Bool {
        if case .pending = state { return true }
        return false
    }
}
