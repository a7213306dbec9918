import Metrics

/// The runtime's swift-metrics instruments; they report to whatever metrics backend the
/// application bootstrapped (none by default).
struct RuntimeMetrics: Sendable {
    let submitted = Counter(label: "iocompute_tasks_submitted_total")
    let succeeded = Counter(label: "iocompute_tasks_finished_total", dimensions: [("outcome", "success")])
    let failed = Counter(label: "iocompute_tasks_finished_total", dimensions: [("outcome", "failure")])
    let duration = Metrics.Timer(label: "iocompute_task_duration")

    func record(_ event: TimelineEvent) {
        (event.succeeded ? succeeded : failed).increment()
        let elapsed = (event.end - event.start).components
        duration.recordNanoseconds(elapsed.seconds * 1_000_000_000 + elapsed.attoseconds / 1_000_000_000)
    }
}
