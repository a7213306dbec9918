import Testing

@testable import IOTune

@Suite("trial schedulers")
struct SchedulerTests {
    @Test("ASHA's rungs sit at grace · rf^k up to max steps, as Ray Tune's")
    func rungs() throws {
        #expect(try ASHAScheduler(objective: .maximize).rungs.map(\.milestone) == [64, 16, 4, 1])
        #expect(try ASHAScheduler(objective: .maximize, maxSteps: 8, reductionFactor: 2).rungs.map(\.milestone) == [8, 4, 2, 1])
        #expect(
            try ASHAScheduler(objective: .minimize, maxSteps: 81, gracePeriod: 3, reductionFactor: 3).rungs.map(\.milestone) == [
                81, 27, 9, 3,
            ])
        #expect(throws: TuneError.self) { try ASHAScheduler(objective: .minimize, gracePeriod: 0) }
        #expect(throws: TuneError.self) { try ASHAScheduler(objective: .minimize, maxSteps: 5, gracePeriod: 6) }
        #expect(throws: TuneError.self) { try ASHAScheduler(objective: .minimize, reductionFactor: 1) }
    }

    @Test("ASHA stops exactly the trials below the top 1/rf of those recorded at their rung before them")
    func ashaCutoffs() throws {
        // Eight trials reach the first rung one after another. With rf 4 the cutoff is the 75th
        // percentile of the earlier ones (NumPy's interpolation):
        // [5] → 5; [1 5] → 4; [1 5 7] → 6; [1 3 5 7] → 5.5; [1 3 5 7 8] → 7; [1 2 3 5 7 8] → 6.5;
        // [1 2 3 5 6 7 8] → 6.5.
        let values: [Double] = [5, 1, 7, 3, 8, 2, 6, 4]
        let expected: [SchedulerDecision] = [.continue, .stop, .continue, .stop, .continue, .stop, .stop, .stop]
        var maximizing = try ASHAScheduler(objective: .maximize)
        #expect(values.enumerated().map { maximizing.report(trial: $0.offset, step: 1, value: $0.element) } == expected)
        // Minimizing the negated values decides the same.
        var minimizing = try ASHAScheduler(objective: .minimize)
        #expect(values.enumerated().map { minimizing.report(trial: $0.offset, step: 1, value: -$0.element) } == expected)
    }

    @Test("ASHA judges a trial once per rung, on its way up, and stops it at max steps")
    func ashaCurves() throws {
        // Rungs at 1, 2, 4, 8 (rf 2): trials with flat curves run one after another.
        var scheduler = try ASHAScheduler(objective: .maximize, maxSteps: 8, reductionFactor: 2)
        func run(_ trial: Int, _ value: Double) -> (stoppedAt: Int, decisions: Int) {
            for step in 1...8 {
                switch scheduler.report(trial: trial, step: step, value: value) {
                case .stop: return (step, step)
                case .finish: return (step == 8 ? 8 : -step, step)  // Finished: only at max steps.
                default: continue
                }
            }
            return (9, 8)
        }
        #expect(run(0, 1.0).stoppedAt == 8)  // Alone at every rung: runs to the end.
        #expect(run(1, 0.5).stoppedAt == 1)  // Below the median of [1.0] at rung 1.
        #expect(run(2, 2.0).stoppedAt == 8)  // Above 0.75 = median of [1.0, 0.5] at rung 1, then above 1.0.
        #expect(run(3, 0.1).stoppedAt == 1)  // Below the median of [0.5, 1.0, 2.0].
        #expect(run(4, 1.4).stoppedAt == 2)  // Passes rung 1 (median 0.75), then below 1.5 = median of [1.0, 2.0] at rung 2.
        #expect(scheduler.rungs.last!.recorded.count == 5 && scheduler.rungs[2].recorded.count == 3)
        // A trial that jumps past rungs is judged at the highest it reached, once.
        #expect(scheduler.report(trial: 9, step: 5, value: 0.1) == .stop)
        #expect(scheduler.report(trial: 9, step: 6, value: 0.1) == .stop)  // Now judged at rung 2.
        #expect(FIFOScheduler().report(trial: 0, step: 1_000, value: -1) == .continue)
    }

    @Test("median stopping: a trial whose best is worse than the completed trials' median at that step stops")
    func median() {
        var scheduler = MedianStoppingScheduler(objective: .minimize, startupTrials: 3)
        // Three completed trials: at step 2 they reported 4, 5 and 9 (median 5).
        for (trial, curve) in [[6.0, 4], [7, 5], [9, 9]].enumerated() {
            for (step, value) in curve.enumerated() { #expect(scheduler.report(trial: trial, step: step + 1, value: value) == .continue) }
            scheduler.trialEnded(trial, state: .completed)
        }
        scheduler.trialEnded(7, state: .errored)  // Errored trials are not a reference.
        // Step 1: the median of 6, 7 and 9 is 7; step 2: of 4, 5 and 9, 5.
        #expect(scheduler.report(trial: 3, step: 1, value: 6.5) == .continue)
        #expect(scheduler.report(trial: 3, step: 2, value: 5.5) == .stop)  // Its best, 5.5, is worse than 5.
        #expect(scheduler.report(trial: 4, step: 1, value: 6.9) == .continue)
        #expect(scheduler.report(trial: 4, step: 2, value: 4.5) == .continue)
        #expect(scheduler.report(trial: 5, step: 1, value: 8) == .stop)
        // A step no completed trial reached decides nothing.
        #expect(scheduler.report(trial: 4, step: 3, value: 100) == .continue)

        // Until enough trials completed, nothing stops.
        var early = MedianStoppingScheduler(objective: .maximize, startupTrials: 3)
        for trial in 0..<2 {
            _ = early.report(trial: trial, step: 1, value: 10)
            early.trialEnded(trial, state: .completed)
        }
        #expect(early.report(trial: 2, step: 1, value: -1_000) == .continue)
        early.trialEnded(2, state: .completed)
        #expect(early.report(trial: 3, step: 1, value: -1_000) == .stop)
    }
}

@Suite("population-based training")
struct PBTTests {
    static let mutations: SearchSpace = [
        "lr": .logUniform(1e-4, 1e-1), "optimizer": .choice(["a", "b", "c"]), "batch": .integer(16...256),
    ]

    /// Four trials at lr 0.01, optimizer b, batch 64, reporting 1, 2, 3, 4 (maximized) at steps 1
    /// and 2: at step 2 the worst (trial 0) exploits the best (trial 3).
    static func population(resample: Double, seed: UInt64) throws -> (PBTScheduler, [SchedulerDecision]) {
        var scheduler = try PBTScheduler(
            objective: .maximize, perturbationInterval: 2, mutations: mutations, resampleProbability: resample, seed: seed)
        for trial in 0..<4 {
            scheduler.trialStarted(trial, configuration: Configuration(["lr": 0.01, "optimizer": "b", "batch": 64, "width": 8]))
        }
        for trial in 0..<4 { #expect(scheduler.report(trial: trial, step: 1, value: Double(trial + 1)) == .continue) }
        let decisions = (0..<4).map { scheduler.report(trial: $0, step: 2, value: Double($0 + 1)) }
        return (scheduler, decisions)
    }

    @Test("the bottom quarter copies a top trial; explore multiplies by 1.2 or 0.8 and moves choices to a neighbour")
    func exploitAndExplore() throws {
        var learningRates: Set<Double> = []
        for seed in 0..<40 as Range<UInt64> {
            let (scheduler, decisions) = try Self.population(resample: 0, seed: seed)
            #expect(scheduler.quantiles().bottom == [0] && scheduler.quantiles().top == [3])
            #expect(decisions[1...].allSatisfy { $0 == .continue })
            guard case .exploit(let source, let configuration) = decisions[0] else {
                Issue.record("trial 0 did not exploit: \(decisions[0])")
                continue
            }
            #expect(source == 3)
            let rate = try configuration.float("lr")
            learningRates.insert((rate * 1e6).rounded() / 1e6)
            #expect(["a", "c"].contains(try configuration.choice("optimizer")))
            #expect([77, 51].contains(try configuration.int("batch")))  // 64 × 1.2 and × 0.8, rounded.
            #expect(try configuration.int("width") == 8)  // Not a mutation: copied as it is.
        }
        #expect(learningRates == [0.012, 0.008])
    }

    @Test("resampling draws afresh inside the distributions; too few trials exploit nothing; bad settings are typed errors")
    func resampleAndLimits() throws {
        let (_, decisions) = try Self.population(resample: 1, seed: 5)
        guard case .exploit(_, let configuration) = decisions[0] else {
            Issue.record("no exploit")
            return
        }
        for (name, distribution) in Self.mutations.parameters { #expect(distribution.contains(configuration.values[name]!)) }
        var lonely = try PBTScheduler(objective: .minimize, perturbationInterval: 1, mutations: Self.mutations)
        #expect(lonely.report(trial: 0, step: 5, value: 10) == .continue)
        #expect(throws: TuneError.self) { try PBTScheduler(objective: .minimize, perturbationInterval: 0, mutations: Self.mutations) }
        #expect(throws: TuneError.self) {
            try PBTScheduler(objective: .minimize, perturbationInterval: 1, mutations: Self.mutations, quantileFraction: 0.7)
        }
        #expect(throws: TuneError.self) { try PBTScheduler(objective: .minimize, perturbationInterval: 1, mutations: ["x": .choice([])]) }
    }
}

@Suite("asynchronous HyperBand")
struct HyperBandTests {
    @Test("brackets start their rungs later, trials join them with weights e^rungs, and each bracket judges only its own")
    func brackets() throws {
        var scheduler = try ASHAScheduler(objective: .maximize, maxSteps: 27, reductionFactor: 3, brackets: 3, seed: 9)
        #expect(scheduler.brackets.map { $0.map(\.milestone) } == [[27, 9, 3, 1], [27, 9, 3], [27, 9]])
        #expect(throws: TuneError.self) { try ASHAScheduler(objective: .maximize, maxSteps: 27, reductionFactor: 3, brackets: 5) }
        // Weights e^4, e^3, e^2 over their sum: 0.665, 0.245, 0.090.
        let joined = (0..<3000).map { scheduler.bracket(of: $0) }
        for (bracket, share) in [0.665, 0.245, 0.090].enumerated() {
            let seen = Double(joined.filter { $0 == bracket }.count) / Double(joined.count)
            #expect(abs(seen - share) < 0.03, "bracket \(bracket): \(seen)")
        }
        #expect(scheduler.bracket(of: 17) == joined[17])  // Drawn once, then kept.

        // Trials in bracket 2 are first judged at step 9, against bracket 2's trials only.
        let inLast = (0..<3000).filter { joined[$0] == 2 }
        let (first, second) = (inLast[0], inLast[1])
        for step in 1...8 { #expect(scheduler.report(trial: first, step: step, value: 1) == .continue) }
        #expect(scheduler.report(trial: first, step: 9, value: 1) == .continue)
        #expect(scheduler.report(trial: second, step: 9, value: 0.5) == .stop)
        #expect(scheduler.brackets[0].allSatisfy { $0.recorded.isEmpty })
    }
}

@Suite("synchronous HyperBand")
struct SynchronousHyperBandTests {
    @Test("brackets hold ⌈(s_max + 1) / (s + 1) · η^s⌉ trials starting at maxSteps · η^-s steps, as in the paper and Ray Tune")
    func brackets() throws {
        let scheduler = try HyperBandScheduler(objective: .maximize, maxSteps: 81, reductionFactor: 3)
        #expect(scheduler.largestBracket == 4)
        #expect((0...4).reversed().map { scheduler.shape(of: $0).capacity } == [81, 34, 15, 8, 5])
        #expect((0...4).reversed().map { scheduler.shape(of: $0).milestone } == [1, 3, 9, 27, 81])
        #expect(throws: TuneError.self) { try HyperBandScheduler(objective: .maximize, reductionFactor: 1) }
    }

    @Test("successive halving: a bracket waits until every trial reached the milestone, keeps the best 1/η, stops the rest")
    func halving() throws {
        // maxSteps 9, η 3: the first bracket holds 9 trials from step 1, then 3 to step 3, 1 to 9.
        var scheduler = try HyperBandScheduler(objective: .minimize, maxSteps: 9, reductionFactor: 3)
        let values: [Double] = [5, 1, 7, 3, 8, 2, 6, 4, 9]
        for trial in values.indices { scheduler.trialStarted(trial, configuration: Configuration()) }
        #expect(scheduler.brackets.count == 1 && scheduler.brackets[0].capacity == 9)
        for (trial, value) in values.enumerated().dropLast() {
            #expect(scheduler.report(trial: trial, step: 1, value: value) == .pause)
            #expect(scheduler.pausedTrials(Array(0...trial), moreTrialsComing: false).isEmpty)  // trial 8 still runs
        }
        #expect(scheduler.report(trial: 8, step: 1, value: 9) == .pause)
        let first = scheduler.pausedTrials(Array(0..<9), moreTrialsComing: false)
        #expect(first.filter { $0.value == .continue }.keys.sorted() == [1, 3, 5])  // values 1, 3, 2
        #expect(first.filter { $0.value == .stop }.count == 6)
        for trial in [1, 3, 5] { scheduler.trialStarted(trial, configuration: Configuration()) }  // resumed: no new bracket
        for trial in first.keys where first[trial] == .stop { scheduler.trialEnded(trial, state: .pruned) }
        #expect(scheduler.report(trial: 1, step: 2, value: 1) == .continue)
        #expect(scheduler.report(trial: 1, step: 3, value: 1) == .pause)
        #expect(scheduler.report(trial: 5, step: 3, value: 2) == .pause)
        #expect(scheduler.report(trial: 3, step: 3, value: 3) == .pause)
        #expect(scheduler.pausedTrials([1, 3, 5], moreTrialsComing: false) == [1: .continue, 3: .stop, 5: .stop])
        #expect(scheduler.report(trial: 1, step: 9, value: 0.5) == .finish)
        // The next trial opens the next bracket (s = 1: 5 trials from step 3).
        scheduler.trialStarted(9, configuration: Configuration())
        #expect(scheduler.brackets.count == 2 && scheduler.brackets[1].capacity == 5 && scheduler.brackets[1].milestone == 3)
        // A bracket that cannot fill halves with what it has once no more trials come.
        #expect(scheduler.report(trial: 9, step: 3, value: 1) == .pause)
        #expect(scheduler.pausedTrials([9], moreTrialsComing: true).isEmpty)
        #expect(scheduler.pausedTrials([9], moreTrialsComing: false) == [9: .continue])
    }
}
