import IORL
import IOTensor
import Testing

@Suite("wrappers and vectors of environments")
struct WrapperTests {
    @Test("a vector auto-resets finished environments and keeps their last observation and episode return")
    func vectorAutoReset() throws {
        var envs = try VectorEnvironment(count: 3, seed: 5) { try EnvironmentCatalog.standard.make("CartPole-v1") }
        // The same three environments stepped one by one, as the reference.
        var singles = try (0..<3).map { _ in try TimeLimit(CartPole(), maxSteps: 500) }
        let first = envs.reset()
        #expect(first == singles.indices.flatMap { singles[$0].reset(seed: 5 + UInt64($0)) })
        var returns = [0.0, 0.0, 0.0]
        var finished: [EpisodeRecord] = []
        for step in 0..<200 {
            let actions = (0..<3).map { Action.discrete((step + $0) % 3 == 0 ? 1 : 0) }
            let result = try envs.step(actions)
            for index in 0..<3 {
                let single = try singles[index].step(actions[index])
                returns[index] += single.reward
                #expect(result.rewards[index] == single.reward && result.terminated[index] == single.terminated)
                let slice = Array(result.observations[(index * 4)..<(index * 4 + 4)])
                if single.isDone {
                    #expect(result.finalObservations[index] == single.observation)
                    finished.append(EpisodeRecord(totalReward: returns[index], length: Int(returns[index])))
                    returns[index] = 0
                    #expect(slice == singles[index].reset(seed: nil))
                } else {
                    #expect(slice == single.observation && result.finalObservations[index] == nil)
                }
            }
        }
        #expect(finished.count > 10)
        #expect(envs.takeCompletedEpisodes() == finished)
        #expect(envs.completedEpisodes.isEmpty)
        #expect(throws: EnvironmentError.actionCount(expected: 3, given: 1)) { try envs.step([.discrete(0)]) }
        #expect(throws: EnvironmentError.self) { try envs.step([.discrete(0), .discrete(5), .discrete(0)]) }
        var unreset = try VectorEnvironment(count: 2, seed: 1) { CartPole() }
        #expect(throws: EnvironmentError.needsReset) { try unreset.step([.discrete(0), .discrete(0)]) }
        #expect(throws: EnvironmentError.self) { try VectorEnvironment(count: 0, seed: 1) { CartPole() } }
    }

    @Test("running statistics merge as if computed over all the values at once")
    func runningStatistics() {
        var random = SplitMix64(seed: 3)
        let values = (0..<500).map { _ in [random.standardNormal() * 3 + 1, random.unit() * 10] }
        var whole = RunningStatistics(dimension: 2)
        var left = RunningStatistics(dimension: 2)
        var right = RunningStatistics(dimension: 2)
        for (index, value) in values.enumerated() {
            whole.update(value)
            if index < 200 { left.update(value) } else { right.update(value) }
        }
        for axis in 0..<2 {
            let column = values.map { $0[axis] }
            let mean = column.reduce(0, +) / Double(column.count)
            let variance = column.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(column.count)
            #expect(abs(whole.mean[axis] - mean) < 1e-4 && abs(whole.variance[axis] - variance) / variance < 1e-3)
        }
        left.merge(right)
        for axis in 0..<2 {
            #expect(abs(left.mean[axis] - whole.mean[axis]) < 1e-6 && abs(left.variance[axis] - whole.variance[axis]) < 1e-4)
        }
    }

    @Test("observation and reward normalisation, frame stacks and episode statistics")
    func wrappers() throws {
        var normalized = NormalizeObservation(try TimeLimit(MountainCar(), maxSteps: 200))
        _ = normalized.reset(seed: 1)
        var raw: [[Float]] = []
        var last: [Float] = []
        for step in 0..<150 {
            let result = try normalized.step(.discrete(step % 3))
            raw.append((normalized.base.base.state).map { Float($0) })
            last = result.observation
        }
        // The last observation standardised by the statistics that include it.
        #expect(zip(last, normalized.statistics.normalize(raw.last!)).allSatisfy { abs($0 - $1) < 1e-5 })
        #expect(abs(normalized.statistics.mean[0] - raw.map { Double($0[0]) }.reduce(0, +) / 151) < 0.05)

        var scaled = NormalizeReward(try TimeLimit(CartPole(), maxSteps: 500), discount: 0.9)
        _ = scaled.reset(seed: 2)
        var discounted = 0.0
        var statistics = RunningStatistics(dimension: 1)
        for _ in 0..<8 {
            let step = try scaled.step(.discrete(1))
            discounted = discounted * 0.9 + 1
            statistics.update([discounted])
            #expect(abs(step.reward - 1 / (statistics.variance[0] + 1e-8).squareRoot()) < 1e-9)
            if step.isDone { break }
        }

        var stacked = try FrameStack(CartPole(), frames: 3)
        let start = stacked.reset(seed: 3)
        #expect(start.count == 12 && Array(start[0..<4]) == Array(start[8..<12]))
        let next = try stacked.step(.discrete(0))
        #expect(
            Array(next.observation[0..<8]) == Array(start[4..<12])
                && Array(next.observation[8..<12]) == stacked.base.state.map { Float($0) })
        #expect(stacked.observationSpace.dimension == 12)

        var counted = EpisodeStatistics(try TimeLimit(CartPole(), maxSteps: 20))
        for _ in 0..<3 {
            _ = counted.reset(seed: nil)
            while try !counted.step(.discrete(counted.base.base.state[2] > 0 ? 1 : 0)).isDone {}
        }
        #expect(counted.completed == Array(repeating: EpisodeRecord(totalReward: 20, length: 20), count: 3))
    }
}
