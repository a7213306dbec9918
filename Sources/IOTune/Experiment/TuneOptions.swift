import IORuntime

/// How an experiment runs: what it optimizes, how many trials, how many at once and with which
/// resources, how failures and checkpoints are handled, and where it is kept.
public struct TuneOptions: Sendable {
    /// The metric reports are ranked by (a key of the trials' reports).
    public var metric: String
    /// Whether lower or higher values of ``metric`` are better.
    public var objective: Objective
    /// How many trials to run (a grid searcher's grid may set it: see ``GridSearcher``).
    public var trials: Int
    /// At most this many trials at once; by default as many as the cluster's workers have room
    /// for, given ``resourcesPerTrial``.
    public var maxConcurrentTrials: Int?
    /// What each trial holds while it runs: fractions of a CPU share one; a trial that needs
    /// `gpu: 1` runs on a worker holding a GPU and opens `TaskContext.gpuDevices[0]`.
    public var resourcesPerTrial: ResourceSet
    /// How many times a trial that throws (or whose worker is lost) is started again, from its
    /// latest checkpoint, before it ends as errored.
    public var maxFailures: Int
    /// How many checkpoints of a trial to keep besides its latest, the best by ``metric``;
    /// `nil` keeps every one.
    public var checkpointsToKeep: Int?
    /// The directory the experiment is kept in, so that it can be resumed; `nil` keeps it in
    /// memory only.
    public var directory: String?
    /// The experiment's name, shown in its progress and files.
    public var name: String
    /// How progress is shown on the standard error.
    public var progress: TuneProgress

    public init(
        metric: String, objective: Objective, trials: Int = 10, maxConcurrentTrials: Int? = nil, resourcesPerTrial: ResourceSet = [.cpu: 1],
        maxFailures: Int = 0, checkpointsToKeep: Int? = nil, directory: String? = nil, name: String = "experiment",
        progress: TuneProgress = .automatic
    ) {
        self.metric = metric
        self.objective = objective
        self.trials = trials
        self.maxConcurrentTrials = maxConcurrentTrials
        self.resourcesPerTrial = resourcesPerTrial
        self.maxFailures = maxFailures
        self.checkpointsToKeep = checkpointsToKeep
        self.directory = directory
        self.name = name
        self.progress = progress
    }

    func validate() throws(TuneError) {
        guard !metric.isEmpty else { throw .invalidOptions("the metric has no name") }
        guard trials >= 1 else { throw .invalidOptions("trials is \(trials); an experiment runs at least one") }
        if let limit = maxConcurrentTrials, limit < 1 { throw .invalidOptions("maxConcurrentTrials is \(limit), below 1") }
        guard maxFailures >= 0 else { throw .invalidOptions("maxFailures is \(maxFailures), below 0") }
        if let keep = checkpointsToKeep, keep < 0 { throw .invalidOptions("checkpointsToKeep is \(keep), below 0") }
    }
}

/// How an experiment shows its progress on the standard error.
public enum TuneProgress: Sendable, Hashable {
    /// A live table of trials when the standard error is a terminal, a progress line otherwise.
    case automatic
    /// A live table of trials, redrawn as they report.
    case table
    /// A line at most every few seconds, and one per finished trial.
    case lines
    /// Nothing.
    case silent
}
