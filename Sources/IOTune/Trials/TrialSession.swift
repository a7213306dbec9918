import Synchronization

/// What a ``Trainable`` is given: its parameters, the checkpoint to continue from, and the way to
/// report metrics.
///
/// Parameters come from the experiment's declared ``SearchSpace`` (``float(_:)``) or are asked for
/// where the trainable needs them, define-by-run as in Optuna (``float(_:_:)``): the searcher
/// draws the value then, so a parameter read only on one branch exists only in the trials that
/// take it.
public final class TrialSession: Sendable {
    /// The trial's number in its experiment, from 0.
    public let trial: Int
    /// The checkpoint to continue from: the trial's own latest when it is retried or resumed, or
    /// another trial's when a PBT scheduler made it exploit that one; `nil` on a fresh start.
    public let checkpoint: TrialCheckpoint?
    private let channel: TrialChannel
    private let state: Mutex<(configuration: Configuration, step: Int)>

    init(trial: Int, configuration: Configuration, checkpoint: TrialCheckpoint?, step: Int, channel: TrialChannel) {
        self.trial = trial
        self.checkpoint = checkpoint
        self.channel = channel
        state = Mutex((configuration, step))
    }

    /// The values the trial has so far.
    public var configuration: Configuration { state.withLock { $0.configuration } }

    /// How many reports the trial has made, counting those before its checkpoint: the step its
    /// checkpoint was taken at when it continues from one, 0 on a fresh start.
    public var step: Int { state.withLock { $0.step } }

    // MARK: Declared parameters

    /// A float parameter of the declared search space (an integer one reads as a float too).
    ///
    /// - Throws: ``TuneError/unknownParameter(_:known:)`` when the space has no `name`.
    public func float(_ name: String) throws(TuneError) -> Double { try configuration.float(name) }
    /// An integer parameter of the declared search space.
    public func int(_ name: String) throws(TuneError) -> Int { try configuration.int(name) }
    /// A string parameter of the declared search space.
    public func choice(_ name: String) throws(TuneError) -> String { try configuration.choice(name) }
    /// A flag parameter of the declared search space.
    public func bool(_ name: String) throws(TuneError) -> Bool { try configuration.bool(name) }

    // MARK: Define-by-run

    /// Float parameter `name` drawn from `distribution` by the experiment's searcher now (or the
    /// value the trial already has, when it continues).
    ///
    /// - Throws: ``TuneError/invalidDistribution(parameter:reason:)``,
    ///   ``TuneError/conflictingParameter(_:reason:)`` when `name` was asked for with another
    ///   distribution, ``TrialStopped`` when the trial is to stop.
    public func float(_ name: String, _ distribution: Distribution) async throws -> Double {
        let value = try await ask(name, distribution)
        return try Configuration([name: value]).float(name)
    }

    /// Integer parameter `name` drawn from `distribution` (``Distribution/integer(_:step:log:)``).
    public func int(_ name: String, _ distribution: Distribution) async throws -> Int {
        try Configuration([name: try await ask(name, distribution)]).int(name)
    }

    /// String parameter `name` chosen among `choices`.
    public func choice(_ name: String, _ choices: [String]) async throws -> String {
        try Configuration([name: try await ask(name, .choice(choices.map { .string($0) }))]).choice(name)
    }

    /// Flag parameter `name`.
    public func bool(_ name: String) async throws -> Bool {
        try Configuration([name: try await ask(name, .choice([false, true]))]).bool(name)
    }

    /// Parameter `name` drawn from `distribution`.
    public func value(_ name: String, _ distribution: Distribution) async throws -> ParameterValue {
        try await ask(name, distribution)
    }

    private func ask(_ name: String, _ distribution: Distribution) async throws -> ParameterValue {
        let checked = try distribution.validated(name)
        if let known = configuration.values[name] {
            guard checked.contains(known) else {
                throw TuneError.conflictingParameter(name, reason: "its value \(known) is not in the distribution asked for now")
            }
            return known
        }
        switch await channel.ask(.needs(name, checked)) {
        case .value(let value):
            state.withLock { $0.configuration.set(name, value) }
            return value
        case .stop, .proceed:
            throw TrialStopped()
        }
    }

    // MARK: Reports

    /// Reports the metrics of one more step, with the checkpoint to continue from if the trial
    /// is interrupted, and waits for the scheduler's decision.
    ///
    /// - Throws: ``TrialStopped`` when the trial is not to go on (stopped early, paused, or
    ///   continued from another trial's checkpoint): return, or let it propagate.
    public func report(_ metrics: [String: Double], checkpoint: TrialCheckpoint? = nil) async throws {
        state.withLock { $0.step += 1 }
        switch await channel.ask(.report(metrics, checkpoint)) {
        case .proceed, .value: return
        case .stop: throw TrialStopped()
        }
    }
}
