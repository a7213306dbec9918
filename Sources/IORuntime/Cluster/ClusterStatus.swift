/// A snapshot of a cluster: its workers, tasks and object store.
public struct ClusterStatus: Sendable, CustomStringConvertible {
    /// One worker's resources and load.
    public struct Worker: Sendable {
        public let id: Int
        public let total: ResourceSet
        public let available: ResourceSet
        public let runningTasks: Int
        /// False once the worker's process was lost.
        public let isAlive: Bool
    }

    /// Task counts by state.
    public struct Tasks: Sendable {
        public let submitted: Int
        public let waiting: Int
        public let running: Int
        public let finished: Int
        public let failed: Int
        /// Tasks sent to a busy worker to wait there behind another, since the cluster started
        /// (see ``ClusterConfiguration/pipelineDepth``).
        public let pipelined: Int
    }

    /// Object-store use.
    public struct ObjectStore: Sendable {
        /// Objects alive (held by a ref or needed by a task).
        public let objects: Int
        /// Bytes of objects in memory.
        public let bytesInMemory: Int
        /// Bytes of objects spilled to disk.
        public let bytesSpilled: Int
        /// Objects on disk now.
        public let spilledObjects: Int
        /// Objects spilled since the cluster started.
        public let totalSpills: Int
        /// Objects restored from disk since the cluster started.
        public let totalRestores: Int
        /// The memory cap.
        public let capacity: Int
    }

    /// Actor counts by state.
    public struct Actors: Sendable, Equatable {
        /// Alive, or being built.
        public let alive: Int
        /// Lost with their worker and being built again.
        public let restarting: Int
        /// Past their restarts, or their constructor failed.
        public let dead: Int
    }

    public let workers: [Worker]
    public let tasks: Tasks
    public let objectStore: ObjectStore
    public let actors: Actors

    public var description: String {
        var lines = ["cluster: \(workers.count) workers"]
        for worker in workers {
            lines.append("  worker \(worker.id): \(worker.runningTasks) running, available \(worker.available) of \(worker.total)")
        }
        lines.append(
            "tasks: \(tasks.submitted) submitted, \(tasks.waiting) waiting, \(tasks.running) running, \(tasks.finished) finished, \(tasks.failed) failed, \(tasks.pipelined) pipelined"
        )
        lines.append("actors: \(actors.alive) alive, \(actors.restarting) restarting, \(actors.dead) dead")
        lines.append(
            "objects: \(objectStore.objects), \(objectStore.bytesInMemory) bytes in memory (cap \(objectStore.capacity)), \(objectStore.bytesSpilled) bytes spilled in \(objectStore.spilledObjects) objects"
        )
        return lines.joined(separator: "\n")
    }
}
