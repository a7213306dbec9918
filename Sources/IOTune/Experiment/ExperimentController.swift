import Foundation

/// The experiment's state and its decisions: which trial starts next with which values, what
/// each report means to the scheduler, and what becomes of failed trials. Every change is logged
/// before it takes effect (when the experiment has a directory).
actor ExperimentController {
    let options: TuneOptions
    let space: SearchSpace
    let trainable: String
    private var searcher: any Searcher
    private var scheduler: any TrialScheduler
    private(set) var records: [TrialRecord] = []
    /// The next trial never started.
    private var nextNew = 0
    /// Trials to start again, first first: retried, resumed, paused or exploiting another's checkpoint.
    private var restarts: [Int] = []
    /// Trials the scheduler paused, in the order it paused them.
    private var paused: [Int] = []
    /// For a trial that exploits another: the trial whose checkpoint it starts from.
    private var exploitSource: [Int: Int] = [:]
    /// The steps of running trials, counted over their reports.
    private var steps: [Int: Int] = [:]
    /// Reports up to this step of a restarted trial were seen before: not logged or scheduled again.
    private var seenUntil: [Int: Int] = [:]
    private var sequence = 0
    private var waiters: [CheckedContinuation<Void, Never>] = []
    /// Checkpoints kept in memory when the experiment has no directory (the latest per trial).
    private var memoryCheckpoints: [Int: (step: Int, checkpoint: TrialCheckpoint)] = [:]
    private let log: ExperimentLog?
    let progress: ProgressReporter

    init(
        options: TuneOptions, space: SearchSpace, trainable: String, searcher: any Searcher, scheduler: any TrialScheduler,
        log: ExperimentLog?
    ) {
        self.options = options
        self.space = space
        self.trainable = trainable
        self.searcher = searcher
        self.scheduler = scheduler
        self.log = log
        records = (0..<options.trials).map { TrialRecord(trial: $0) }
        progress = ProgressReporter(options: options)
    }

    // MARK: Starting trials

    /// The next trial to start, waiting while none is ready but running ones may yet need a
    /// restart; nil once every trial has ended.
    func nextTrial() async throws -> TrialStart? {
        while true {
            try releasePaused()
            if let start = try takeTrial() { return start }
            if steps.isEmpty {
                guard !paused.isEmpty else { return nil }
                // Nothing runs and the scheduler keeps every paused trial waiting: they resume,
                // rather than the experiment ending with trials unfinished.
                restarts += paused
                paused = []
                continue
            }
            await withCheckedContinuation { waiters.append($0) }
        }
    }

    /// Asks the scheduler what becomes of the trials it paused.
    private func releasePaused() throws {
        guard !paused.isEmpty else { return }
        let decisions = scheduler.pausedTrials(paused, moreTrialsComing: nextNew < options.trials)
        for trial in paused {
            switch decisions[trial] {
            case .stop?: try end(trial, .pruned)
            case .finish?: try end(trial, .completed)
            case nil: continue
            default: restarts.append(trial)
            }
        }
        paused.removeAll { decisions[$0] != nil }
    }

    private func takeTrial() throws -> TrialStart? {
        if !restarts.isEmpty {
            let trial = restarts.removeFirst()
            return try start(trial, fresh: false)
        }
        guard nextNew < options.trials else { return nil }
        let trial = nextNew
        nextNew += 1
        records[trial].configuration = space.configuration(trial: trial, from: &searcher)
        scheduler.trialStarted(trial, configuration: records[trial].configuration)
        return try start(trial, fresh: true)
    }

    private func start(_ trial: Int, fresh: Bool) throws -> TrialStart {
        var checkpoint: TrialCheckpoint?
        var step = 0
        let source = exploitSource.removeValue(forKey: trial)
        if let (at, loaded) = try latestCheckpoint(of: source ?? trial) {
            (step, checkpoint) = (at, loaded)
        }
        seenUntil[trial] = source == nil ? records[trial].steps : 0
        steps[trial] = step
        records[trial].status = .running
        try record(.started, trial, configuration: records[trial].configuration, step: step, source: source)
        progress.update(records, options: options)
        return TrialStart(
            trainable: trainable, trial: trial, configuration: records[trial].configuration, checkpoint: checkpoint, step: step)
    }

    /// The latest checkpoint of `trial` and the step it was taken at.
    private func latestCheckpoint(of trial: Int) throws -> (Int, TrialCheckpoint)? {
        if log == nil { return memoryCheckpoints[trial].map { ($0.step, $0.checkpoint) } }
        guard let folder = records[trial].latestCheckpoint, let step = records[trial].checkpointStep else { return nil }
        return (step, try TrialCheckpointStore.load(folder))
    }

    // MARK: Events of running trials

    /// A value for define-by-run parameter `name` of `trial`.
    func suggest(_ trial: Int, _ name: String, _ distribution: Distribution) throws -> ParameterValue {
        if let declared = space.distribution(of: name), declared != distribution {
            throw TuneError.conflictingParameter(name, reason: "the search space declares it with another distribution")
        }
        let value = searcher.suggest(name, distribution, trial: trial)
        records[trial].configuration.set(name, value)
        try record(.parameter, trial, name: name, value: value)
        return value
    }

    /// Takes `trial`'s report and answers with the scheduler's decision.
    func report(_ trial: Int, metrics: [String: Double], checkpoint: TrialCheckpoint?) throws -> TrialAnswer {
        let step = (steps[trial] ?? 0) + 1
        steps[trial] = step
        var folder: String?
        if let checkpoint {
            if let log {
                let store = log.checkpoints(
                    of: trial, keep: options.checkpointsToKeep, metric: options.metric, objective: options.objective)
                folder = try store.save(checkpoint, step: step, metrics: metrics)
            } else {
                memoryCheckpoints[trial] = (step, checkpoint)
            }
            records[trial].latestCheckpoint = folder
            records[trial].checkpointStep = step
        }
        if step <= seenUntil[trial] ?? 0 {
            // A restarted trial repeating steps it reported before.
            if folder != nil { try record(.report, trial, step: step, checkpoint: folder) }
            return .proceed
        }
        records[trial].reports.append(TrialReport(step: step, metrics: metrics))
        try record(.report, trial, step: step, metrics: metrics, checkpoint: folder)
        progress.update(records, options: options)
        guard let value = metrics[options.metric] else { return .proceed }
        switch scheduler.report(trial: trial, step: step, value: value) {
        case .continue:
            return .proceed
        case .stop:
            try end(trial, .pruned)
            return .stop
        case .finish:
            try end(trial, .completed)
            return .stop
        case .pause:
            records[trial].status = .paused
            try record(.paused, trial)
            paused.append(trial)
            trialLeft(trial)
            return .stop
        case .exploit(let source, let explored):
            // The source's whole configuration (define-by-run values too), with the explored values.
            var configuration = records[source].configuration
            for (name, value) in explored.values { configuration.set(name, value) }
            records[trial].configuration = configuration
            try record(.exploit, trial, configuration: configuration, source: source)
            exploitSource[trial] = source
            requeue(trial, first: true)
            return .stop
        }
    }

    /// `trial`'s trainable returned.
    func finished(_ trial: Int) throws {
        guard records[trial].status == .running else { return trialLeft(trial) }
        try end(trial, .completed)
    }

    /// `trial` failed: it starts again from its latest checkpoint, or ends as errored once it has
    /// failed more than `maxFailures` times.
    func failed(_ trial: Int, reason: String) throws {
        guard records[trial].status == .running else { return trialLeft(trial) }
        records[trial].failures += 1
        records[trial].error = reason
        try record(.failed, trial, error: reason)
        if records[trial].failures > options.maxFailures {
            try end(trial, .errored)
        } else {
            requeue(trial, first: true)
        }
    }

    private func end(_ trial: Int, _ status: TrialStatus) throws {
        records[trial].status = status
        try record(.ended, trial, status: status)
        let state: TrialState = status == .completed ? .completed : status == .pruned ? .pruned : .errored
        let value = records[trial].last(options.metric).map { options.objective == .maximize ? -$0 : $0 }
        searcher.observe(TrialResult(trial: trial, configuration: records[trial].configuration, value: value, state: state))
        scheduler.trialEnded(trial, state: state)
        progress.trialEnded(records[trial], records: records, options: options)
        trialLeft(trial)
    }

    /// `trial` no longer runs on its runner.
    private func trialLeft(_ trial: Int) {
        steps[trial] = nil
        wakeWaiters()
    }

    private func requeue(_ trial: Int, first: Bool = false) {
        if first { restarts.insert(trial, at: 0) } else { restarts.append(trial) }
        steps[trial] = nil
        wakeWaiters()
    }

    private func wakeWaiters() {
        let waiting = waiters
        waiters = []
        for waiter in waiting { waiter.resume() }
    }

    /// The latest checkpoint of each trial, when the experiment has no directory.
    var checkpointsInMemory: [Int: TrialCheckpoint] { memoryCheckpoints.mapValues(\.checkpoint) }

    // MARK: The log

    private func record(
        _ kind: ExperimentEvent.Kind, _ trial: Int, configuration: Configuration? = nil, name: String? = nil, value: ParameterValue? = nil,
        step: Int? = nil, metrics: [String: Double]? = nil, checkpoint: String? = nil, source: Int? = nil, status: TrialStatus? = nil,
        error: String? = nil
    ) throws {
        sequence += 1
        guard let log else { return }
        try log.append(
            ExperimentEvent(
                kind, trial: trial, sequence: sequence, configuration: configuration, name: name, value: value, step: step,
                metrics: metrics,
                checkpoint: checkpoint, source: source, status: status, error: error))
    }

    /// Rebuilds the experiment from its log: every trial's record, the searcher's observations
    /// and the scheduler's state, in the order things happened. Trials that were running or
    /// paused start again from their latest checkpoints; errored ones too when
    /// `restartErrored`.
    func replay(_ events: [ExperimentEvent], restartErrored: Bool) {
        var started = Set<Int>()
        for event in events where records.indices.contains(event.trial) {
            let trial = event.trial
            sequence = max(sequence, event.sequence)
            switch event.kind {
            case .started:
                if let configuration = event.configuration { records[trial].configuration = configuration }
                records[trial].status = .running
                exploitSource[trial] = nil
                if started.insert(trial).inserted {
                    nextNew = max(nextNew, trial + 1)
                    scheduler.trialStarted(trial, configuration: records[trial].configuration)
                }
            case .parameter:
                if let name = event.name, let value = event.value { records[trial].configuration.set(name, value) }
            case .report:
                if let checkpoint = event.checkpoint {
                    records[trial].latestCheckpoint = checkpoint
                    records[trial].checkpointStep = event.step
                }
                guard let step = event.step, let metrics = event.metrics else { continue }
                records[trial].reports.append(TrialReport(step: step, metrics: metrics))
                if let value = metrics[options.metric] { _ = scheduler.report(trial: trial, step: step, value: value) }
            case .exploit:
                if let configuration = event.configuration { records[trial].configuration = configuration }
                exploitSource[trial] = event.source
            case .paused:
                records[trial].status = .paused
            case .failed:
                records[trial].failures += 1
                records[trial].error = event.error
            case .ended:
                let status = event.status ?? .errored
                records[trial].status = status
                let state: TrialState = status == .completed ? .completed : status == .pruned ? .pruned : .errored
                let value = records[trial].last(options.metric).map { options.objective == .maximize ? -$0 : $0 }
                searcher.observe(TrialResult(trial: trial, configuration: records[trial].configuration, value: value, state: state))
                scheduler.trialEnded(trial, state: state)
            }
        }
        for record in records where record.status == .running { restarts.append(record.trial) }
        // Paused ones wait for the scheduler, which has seen their reports again.
        paused = records.filter { $0.status == .paused }.map(\.trial)
        if restartErrored {
            for record in records where record.status == .errored {
                records[record.trial].failures = 0
                records[record.trial].error = nil
                restarts.append(record.trial)
            }
        }
        // A trial killed while it exploited another starts from that one's checkpoint.
        restarts.sort { (exploitSource[$0] != nil ? 0 : 1, $0) < (exploitSource[$1] != nil ? 0 : 1, $1) }
    }
}
