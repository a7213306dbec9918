import Foundation
import IORL
import Testing

/// Trajectories recorded from Gymnasium by `Fixtures/record_gymnasium.py`.
struct GymnasiumFixtures: Decodable {
    struct Episode: Decodable {
        let seed: Int
        let start: [Double]
        let steps: [Step]
    }
    struct Step: Decodable {
        let action: [Double]
        let observation: [Double]
        let state: [Double]
        let reward: Double
        let terminated: Bool
        let truncated: Bool
    }
    let cartPole: [Episode]
    let pendulum: [Episode]
    let mountainCar: [Episode]

    enum CodingKeys: String, CodingKey {
        case cartPole = "CartPole-v1"
        case pendulum = "Pendulum-v1"
        case mountainCar = "MountainCar-v0"
    }

    static let loaded: GymnasiumFixtures = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/gymnasium_trajectories.json")
        return try! JSONDecoder().decode(GymnasiumFixtures.self, from: Data(contentsOf: url))
    }()
}

@Suite("environments step exactly as Gymnasium's")
struct GymnasiumParityTests {
    /// Replays `episode` from its recorded start through `environment` (the catalog's, with its
    /// time limit), checking every observation, state, reward and flag.
    func replay<E: Environment>(
        _ episode: GymnasiumFixtures.Episode, in environment: inout TimeLimit<E>, setState: (inout E, [Double]) -> Void,
        state: (E) -> [Double], action: ([Double]) -> Action
    ) throws {
        _ = environment.reset(seed: UInt64(episode.seed))
        setState(&environment.base, episode.start)
        for (index, expected) in episode.steps.enumerated() {
            let step = try environment.step(action(expected.action))
            let where_ = "step \(index) of the episode seeded \(episode.seed)"
            #expect(state(environment.base) == expected.state, "\(where_): state")
            #expect(step.observation == expected.observation.map { Float($0) }, "\(where_): observation")
            #expect(step.reward == expected.reward, "\(where_): reward")
            #expect(step.terminated == expected.terminated && step.truncated == expected.truncated, "\(where_): flags")
        }
        // The episode is over: a further step needs a reset.
        #expect(throws: EnvironmentError.needsReset) { try environment.step(action(episode.steps[0].action)) }
    }

    @Test("CartPole-v1: random episodes that fall, and one held up until the 500-step limit")
    func cartPole() throws {
        let episodes = GymnasiumFixtures.loaded.cartPole
        #expect(episodes.contains { $0.steps.count == 500 && $0.steps.last!.truncated })
        for episode in episodes {
            var env = try TimeLimit(CartPole(), maxSteps: 500)
            try replay(episode, in: &env, setState: { $0.state = $1 }, state: \.state, action: { .discrete(Int($0[0])) })
        }
    }

    @Test("Pendulum-v1: torques in float32, costs and the angle wrap-around, 200-step episodes")
    func pendulum() throws {
        for episode in GymnasiumFixtures.loaded.pendulum {
            var env = try TimeLimit(Pendulum(), maxSteps: 200)
            try replay(episode, in: &env, setState: { $0.state = $1 }, state: \.state, action: { .continuous($0.map { Float($0) }) })
        }
    }

    @Test("MountainCar-v0: a random episode cut at 200 steps and one that reaches the flag")
    func mountainCar() throws {
        let episodes = GymnasiumFixtures.loaded.mountainCar
        #expect(episodes.contains { $0.steps.last!.terminated })
        for episode in episodes {
            var env = try TimeLimit(MountainCar(), maxSteps: 200)
            try replay(episode, in: &env, setState: { $0.state = $1 }, state: \.state, action: { .discrete(Int($0[0])) })
        }
    }

    @Test("resets draw Gymnasium's start distributions and repeat for a seed")
    func resets() throws {
        var a = CartPole()
        var b = CartPole()
        #expect(a.reset(seed: 11) == b.reset(seed: 11))
        #expect(a.reset(seed: nil) == b.reset(seed: nil))
        #expect(a.reset(seed: 12) != b.reset(seed: 13))
        for seed in 0..<200 {
            #expect(a.reset(seed: UInt64(seed)).allSatisfy { abs($0) <= 0.05 })
        }
        var car = MountainCar()
        let start = car.reset(seed: 3)
        #expect(start[0] >= -0.6 && start[0] < -0.4 && start[1] == 0)
        var pendulum = Pendulum()
        let observation = pendulum.reset(seed: 4)
        #expect(abs(observation[0] * observation[0] + observation[1] * observation[1] - 1) < 1e-6 && abs(observation[2]) <= 1)
    }

    @Test("actions outside the space and steps before a reset are typed errors")
    func invalidActions() throws {
        var cartPole = CartPole()
        #expect(throws: EnvironmentError.needsReset) { try cartPole.step(.discrete(0)) }
        _ = cartPole.reset(seed: 1)
        #expect(throws: EnvironmentError.invalidAction(.discrete(2), space: .discrete(2))) { try cartPole.step(.discrete(2)) }
        #expect(throws: EnvironmentError.self) { try cartPole.step(.continuous([1])) }
        var pendulum = try EnvironmentCatalog.standard.make("Pendulum-v1")
        _ = pendulum.reset(seed: 1)
        for bad: [Float] in [[2.5], [.nan], [1, 1], []] {
            #expect(throws: EnvironmentError.self) { try pendulum.step(.continuous(bad)) }
        }
        _ = try pendulum.step(.continuous([2]))
        #expect(pendulum.actionSpace.clipped(.continuous([7])) == .continuous([2]))
        #expect(throws: EnvironmentError.unknownEnvironment("Nope-v0")) { try EnvironmentCatalog.standard.make("Nope-v0") }
        #expect(throws: EnvironmentError.self) { try TimeLimit(CartPole(), maxSteps: 0) }
    }
}
