import Prometheus

/// The server's metrics, in Prometheus's text format at `GET /metrics`: requests by deployment
/// and status code, their latency, the batches formed, and the requests queued.
enum ServeMetrics {
    static let registry = PrometheusCollectorRegistry()

    /// One deployment's collectors.
    struct Deployment: Sendable {
        let name: String
        let latency: DurationHistogram
        let batchSize: ValueHistogram

        init(name: String) {
            self.name = name
            latency = ServeMetrics.registry.makeDurationHistogram(
                descriptor: MetricNameDescriptor(
                    namespace: "ioserve", metricName: "request_duration", unitName: "seconds",
                    helpText: "Time from a request's arrival to its answer"),
                labels: [("deployment", name)],
                buckets: [
                    .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
                    .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .seconds(1), .seconds(5),
                ])
            batchSize = ServeMetrics.registry.makeValueHistogram(
                descriptor: MetricNameDescriptor(
                    namespace: "ioserve", metricName: "batch_size", unitName: "requests", helpText: "Requests per batch sent to a replica"),
                labels: [("deployment", name)], buckets: [1, 2, 4, 8, 16, 32, 64, 128])
        }

        /// Counts a request answered with `status`.
        func answered(_ status: Int) {
            ServeMetrics.registry.makeCounter(
                descriptor: MetricNameDescriptor(
                    namespace: "ioserve", metricName: "requests", unitName: "total", helpText: "Requests answered, by status code"),
                labels: [("deployment", name), ("code", String(status))]
            ).increment()
        }

        /// Sets the requests waiting or being answered.
        func queued(_ count: Int) {
            ServeMetrics.registry.makeGauge(
                descriptor: MetricNameDescriptor(
                    namespace: "ioserve", metricName: "queued", unitName: "requests", helpText: "Requests waiting or being answered"),
                labels: [("deployment", name)]
            ).set(Double(count))
        }
    }
}
