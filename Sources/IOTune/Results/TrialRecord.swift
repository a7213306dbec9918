/// Where a trial stands.
public enum TrialStatus: String, Sendable, Hashable, Codable {
    /// Not started yet.
    case pending
    /// Running on a worker.
    case running
    /// Stopped for now by its scheduler; it continues from its latest checkpoint later.
    case paused
    /// Its trainable returned.
    case completed
    /// Its scheduler stopped it early.
    case pruned
    /// It failed more often than the experiment's `maxFailures` allows.
    case errored

    /// Whether the trial has ended for good.
    public var isFinished: Bool { self == .completed || self == .pruned || self == .errored }
}

/// One step's report: the metrics a trial measured after its `step`-th step.
public struct TrialReport: Sendable, Hashable, Codable {
    public let step: Int
    public let metrics: [String: Double]

    public init(step: Int, metrics: [String: Double]) {
        self.step = step
        self.metrics = metrics
    }
}

/// Everything an experiment knows of one trial.
public struct TrialRecord: Sendable, Hashable, Codable {
    /// The trial's number, from 0.
    public let trial: Int
    /// Its parameters (the latest, when a PBT scheduler changed them).
    public internal(set) var configuration: Configuration
    public internal(set) var status: TrialStatus
    /// Every report, in order.
    public internal(set) var reports: [TrialReport]
    /// How many times it failed (each failure past the first `maxFailures` ends it as errored).
    public internal(set) var failures: Int
    /// The last failure's error.
    public internal(set) var error: String?
    /// The folder of its latest checkpoint, when the experiment keeps them in a directory.
    public internal(set) var latestCheckpoint: String?
    /// The step its latest checkpoint was taken at.
    public internal(set) var checkpointStep: Int?

    init(trial: Int) {
        self.trial = trial
        configuration = Configuration()
        status = .pending
        reports = []
        failures = 0
    }

    /// The latest value of `metric`.
    public func last(_ metric: String) -> Double? { reports.last { $0.metrics[metric] != nil }?.metrics[metric] }

    /// The best value of `metric` the trial reported.
    public func best(_ metric: String, _ objective: Objective) -> Double? {
        let values = reports.compactMap { $0.metrics[metric] }.filter { !$0.isNaN }
        return objective == .maximize ? values.max() : values.min()
    }

    /// How many steps it reported.
    public var steps: Int { reports.last?.step ?? 0 }
}
