import Metrics

/// The runtime's swift-metrics instruments; they report to whatever metrics backend the
/// application bootstrapped (none by default).
struct RuntimeMetrics: Sendable {
    let submitted = Counter(label: "iocompute_tasks_submitted_total")
    let succeeded = Counter(label: "iocompute_tasks_finished_total", dimensions: [("outcome", "success")])
    let failed = Counter(label: "iocompute_tasks_finished_total", dimensions: [("outcome", "failure")])
    let duration = Metrics.Timer(label: "iocompute_task_duration")
    let running = Gauge(label: "iocompute_tasks_running")
    let storeBytes = Gauge(label: "iocompute_object_store_bytes", dimensions: [("where", "memory")])
    let spilledBytes = Gauge(label: "iocompute_object_store_bytes", dimensions: [("where", "disk")])
    let spills = Counter(label: "iocompute_object_spills_total")
    let restores = Counter(label: "iocompute_object_restores_total")

    /// Object-store use after an operation: gauges, and the spills and restores it caused.
    func observeStore(_ after: StoreSnapshot, since before: StoreSnapshot) {
        storeBytes.record(after.bytesInMemory)
        spilledBytes.record(after.bytesSpilled)
        if after.totalSpills > before.totalSpills { spills.increment(by: after.totalSpills - before.totalSpills) }
        if after.totalRestores > before.totalRestores { restores.increment(by: after.totalRestores - before.totalRestores) }
    }

    func record(_ event: TimelineEvent) {
        (event.succeeded ? succeeded : failed).increment()
        let elapsed = (event.end - event.start).components
        duration.recordNanoseconds(elapsed.seconds * 1_000_000_000 + elapsed.attoseconds / 1_000_000_000)
    }
}

/// The object-store figures the metrics follow.
struct StoreSnapshot: Sendable {
    var bytesInMemory = 0
    var bytesSpilled = 0
    var totalSpills = 0
    var totalRestores = 0
}
