import Distributed
import IORuntime

/// Runs one trial at a time of one ``Trainable`` on the worker that holds it, for the controller
/// that spawned it: each call hands over an answer and returns the trial's next event.
///
/// The trainable runs in a task of its own, so that a trial that computes for long does not hold
/// the actor: the controller can always stop it.
public distributed actor TrialRunner {
    public typealias ActorSystem = ClusterActorSystem

    private let trainable: Trainable
    private var channel: TrialChannel?
    private var running: Task<Void, Never>?

    init(trainable: Trainable, actorSystem: ClusterActorSystem) {
        self.trainable = trainable
        self.actorSystem = actorSystem
    }

    /// The name runners of `trainable` are registered under.
    static func registeredName(of trainable: String) -> String { "IOTune.TrialRunner." + trainable }

    /// Starts a trial (stopping the one before, if any) and returns its first event.
    distributed func start(_ start: TrialStart) async throws -> TrialEvent {
        guard start.trainable == trainable.name else {
            throw TuneError.unknownTrainable(start.trainable, registered: trainable.name)
        }
        await stopCurrent()
        let channel = TrialChannel()
        let session = TrialSession(
            trial: start.trial, configuration: start.configuration, checkpoint: start.checkpoint, step: start.step, channel: channel)
        let body = trainable.body
        self.channel = channel
        running = Task {
            do {
                try await body(session)
                channel.finish(.finished)
            } catch is TrialStopped {
                channel.finish(.finished)
            } catch {
                channel.finish(.failed("\(String(reflecting: type(of: error))): \(error)"))
            }
        }
        return await channel.nextEvent()
    }

    /// Answers the trial's last event and returns its next one.
    distributed func answer(_ answer: TrialAnswer) async throws -> TrialEvent {
        guard let channel else { throw TuneError.noTrialRunning }
        return await channel.answer(answer)
    }

    /// Stops the running trial, if any, and waits for its trainable to return.
    distributed func stop() async {
        await stopCurrent()
    }

    private func stopCurrent() async {
        guard let channel, let running else { return }
        channel.respond(.stop)
        await running.value
        self.channel = nil
        self.running = nil
    }
}

extension Registry {
    /// This registry with `trainable`, so that the cluster's workers can run its trials (every
    /// process registers the same trainables under the same names).
    public func trainable(_ trainable: Trainable) -> Registry {
        actor(TrialRunner.self, registeredAs: TrialRunner.registeredName(of: trainable.name)) { system in
            TrialRunner(trainable: trainable, actorSystem: system)
        }
    }
}
