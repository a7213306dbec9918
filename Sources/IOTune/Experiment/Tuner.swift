import Foundation
import IORuntime

/// Runs a hyperparameter search on a cluster: trials of a ``Trainable`` with values from a
/// ``Searcher``, stopped early by a ``TrialScheduler``, as many at once as the cluster has room
/// for, kept in a directory so that an interrupted experiment resumes where it stopped.
///
/// ```swift
/// let tuner = Tuner(
///     cluster: cluster, trainable: digits,
///     space: ["lr": .logUniform(1e-4, 1e-1), "width": .integer(16...256, log: true)],
///     searcher: TPESearcher(seed: 1), scheduler: try ASHAScheduler(objective: .maximize, maxSteps: 20),
///     options: TuneOptions(metric: "accuracy", objective: .maximize, trials: 40, directory: "runs/digits"))
/// let results = try await tuner.run()          // or, after a crash: try await tuner.resume()
/// print(results.table)
/// let best = try #require(results.best)
/// ```
///
/// Each trial runs on a ``TrialRunner`` actor holding ``TuneOptions/resourcesPerTrial`` on a
/// worker; the controller (in the calling process) asks the searcher for values, hands reports to
/// the scheduler, keeps checkpoints, and logs every event before acting on it.
public struct Tuner: Sendable {
    public let cluster: Cluster
    public let trainable: Trainable
    public let space: SearchSpace
    public let options: TuneOptions
    private let searcher: any Searcher
    private let scheduler: any TrialScheduler

    public init(
        cluster: Cluster, trainable: Trainable, space: SearchSpace = SearchSpace(), searcher: some Searcher = RandomSearcher(),
        scheduler: some TrialScheduler = FIFOScheduler(), options: TuneOptions
    ) {
        self.cluster = cluster
        self.trainable = trainable
        self.space = space
        self.searcher = searcher
        self.scheduler = scheduler
        self.options = options
    }

    /// Runs a fresh experiment to its end.
    ///
    /// - Throws: ``TuneError`` for invalid options or space, an experiment already in
    ///   ``TuneOptions/directory``, or trials that fit no worker; the file system's error when
    ///   the directory cannot be written. A failing trial is not an error of the experiment: it
    ///   ends as ``TrialStatus/errored`` in the results.
    public func run() async throws -> TuneResults {
        try options.validate()
        try space.validate()
        let log = options.directory.map(ExperimentLog.init)
        try log?.create(header)
        let controller = ExperimentController(
            options: options, space: space, trainable: trainable.name, searcher: searcher, scheduler: scheduler, log: log)
        return try await execute(controller)
    }

    /// Continues the experiment kept in ``TuneOptions/directory``: finished trials stay as they
    /// ended, trials that were running or paused start again from their latest checkpoints (those
    /// that errored too when `restartErrored`), and the trials never started start. The searcher
    /// and the scheduler given to this tuner learn everything logged before, in its order.
    ///
    /// - Throws: ``TuneError/unreadableExperiment(directory:reason:)`` when there is no
    ///   experiment to resume, ``TuneError/experimentMismatch(directory:reason:)`` when it was
    ///   started with another trainable, metric, objective, space or number of trials.
    public func resume(restartErrored: Bool = false) async throws -> TuneResults {
        try options.validate()
        guard let directory = options.directory else { throw TuneError.invalidOptions("resume needs the experiment's directory") }
        let log = ExperimentLog(directory: directory)
        let saved = try log.header()
        let expected = header
        for (what, same) in [
            ("trainable", saved.trainable == expected.trainable), ("metric", saved.metric == expected.metric),
            ("objective", saved.objective == expected.objective), ("search space", saved.space == expected.space),
            ("number of trials", saved.trials == expected.trials),
        ] where !same {
            throw TuneError.experimentMismatch(directory: directory, reason: "its \(what) is not this tuner's")
        }
        let controller = ExperimentController(
            options: options, space: space, trainable: trainable.name, searcher: searcher, scheduler: scheduler, log: log)
        await controller.replay(try log.events(), restartErrored: restartErrored)
        return try await execute(controller)
    }

    private var header: ExperimentHeader {
        ExperimentHeader(
            name: options.name, trainable: trainable.name, metric: options.metric, objective: options.objective, trials: options.trials,
            space: space, created: Date().timeIntervalSince1970)
    }

    // MARK: Running trials

    private func execute(_ controller: ExperimentController) async throws -> TuneResults {
        let fit = await trialsThatFit()
        guard fit > 0 else { throw TuneError.trialsDoNotFit(resources: options.resourcesPerTrial.description) }
        let concurrency = min(options.maxConcurrentTrials ?? fit, fit, options.trials)
        var runners: [TrialRunner] = []
        for _ in 0..<concurrency { runners.append(try await spawnRunner()) }
        defer { for runner in runners { cluster.kill(runner) } }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for runner in runners {
                group.addTask { try await runTrials(on: runner, controller: controller) }
            }
            try await group.waitForAll()
        }
        let records = await controller.records
        controller.progress.finish(records, options: options)
        return TuneResults(trials: records, options: options, memoryCheckpoints: await controller.checkpointsInMemory)
    }

    /// How many trials the cluster's workers have room for at once.
    private func trialsThatFit() async -> Int {
        let needs = options.resourcesPerTrial.amounts.filter { $0.value > 0 }
        return await cluster.status().workers.filter(\.isAlive).reduce(0) { count, worker in
            guard !needs.isEmpty else { return count + 1 }
            let fits = needs.map { name, amount in Int((worker.available[name] / amount + 1e-9).rounded(.down)) }.min() ?? 0
            return count + fits
        }
    }

    private func spawnRunner() async throws -> TrialRunner {
        try await cluster.spawn(
            TrialRunner.self, registeredAs: TrialRunner.registeredName(of: trainable.name),
            options: ActorOptions(resources: options.resourcesPerTrial, maxRestarts: 3))
    }

    /// Runs trials on `runner` until none is left: starts each, answers its questions and
    /// reports, and tells the controller how it ended.
    private func runTrials(on first: TrialRunner, controller: ExperimentController) async throws {
        var runner = first
        while let start = try await controller.nextTrial() {
            let trial = start.trial
            do {
                var event = try await runner.start(start)
                events: while true {
                    switch event {
                    case .needs(let name, let distribution):
                        do {
                            let value = try await controller.suggest(trial, name, distribution)
                            event = try await runner.answer(.value(value))
                        } catch let error as TuneError {
                            try await runner.stop()
                            try await controller.failed(trial, reason: "\(error)")
                            break events
                        }
                    case .report(let metrics, let checkpoint):
                        switch try await controller.report(trial, metrics: metrics, checkpoint: checkpoint) {
                        case .stop:
                            try await runner.stop()
                            break events
                        case let answer:
                            event = try await runner.answer(answer)
                        }
                    case .finished:
                        try await controller.finished(trial)
                        break events
                    case .failed(let reason):
                        try await controller.failed(trial, reason: reason)
                        break events
                    }
                }
            } catch let error as ActorError {
                // The runner's worker was lost mid-trial: the trial failed there; a runner that
                // cannot restart any more is replaced.
                try await controller.failed(trial, reason: "\(error)")
                switch error {
                case .actorDied, .notFound: runner = try await spawnRunner()
                default: break
                }
            }
        }
    }
}
