/// One line of a trial's log (`trial-NNNNN/events.jsonl`): what happened to the trial, numbered
/// across the whole experiment so that a resumed experiment replays the lines of every trial in
/// the order they happened.
struct ExperimentEvent: Codable, Sendable, Hashable {
    enum Kind: String, Codable, Sendable {
        /// The trial started (or started again) with `configuration`, from the checkpoint at `step`.
        case started
        /// The searcher drew `name` = `value` for it (define-by-run).
        case parameter
        /// It reported `metrics` after `step`, with the checkpoint `checkpoint` or none.
        case report
        /// Its scheduler made it continue from trial `source`'s checkpoint with `configuration`.
        case exploit
        /// Its scheduler paused it.
        case paused
        /// It failed (`error`); it is retried unless `status` says it ended.
        case failed
        /// It ended in `status`.
        case ended
    }

    var sequence: Int
    var trial: Int
    var kind: Kind
    var configuration: Configuration?
    var name: String?
    var value: ParameterValue?
    var step: Int?
    var metrics: [String: Double]?
    var checkpoint: String?
    var source: Int?
    var status: TrialStatus?
    var error: String?

    init(
        _ kind: Kind, trial: Int, sequence: Int, configuration: Configuration? = nil, name: String? = nil, value: ParameterValue? = nil,
        step: Int? = nil, metrics: [String: Double]? = nil, checkpoint: String? = nil, source: Int? = nil, status: TrialStatus? = nil,
        error: String? = nil
    ) {
        self.kind = kind
        self.trial = trial
        self.sequence = sequence
        self.configuration = configuration
        self.name = name
        self.value = value
        self.step = step
        self.metrics = metrics
        self.checkpoint = checkpoint
        self.source = source
        self.status = status
        self.error = error
    }
}

/// What an experiment directory records of the experiment itself (`experiment.json`), checked
/// when it is resumed.
struct ExperimentHeader: Codable, Sendable, Hashable {
    var name: String
    var trainable: String
    var metric: String
    var objective: Objective
    var trials: Int
    var space: SearchSpace
    var created: Double
}
