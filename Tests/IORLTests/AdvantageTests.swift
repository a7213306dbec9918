import Foundation
import IORL
import Testing

@Suite("advantage estimators")
struct AdvantageTests {
    func close(_ a: [Float], _ b: [Float], _ tolerance: Float = 1e-5) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= tolerance }
    }

    @Test("GAE against values worked by hand: a termination, a truncation and two interleaved environments")
    func generalized() {
        // Environment 0: rewards 1, 2, 3; values .5, 1, 1.5; terminated at step 1; V(last) = 2.
        // Environment 1: rewards 0, 0, 1; values 0; no ends; V(last) = 10. γ = .9, λ = .8.
        // Env 0: A2 = 3 + .9·2 − 1.5 = 3.3; A1 = 2 − 1 = 1 (terminated); A0 = 1 + .9·1 − .5 + .72·1 = 2.12.
        // Env 1: A2 = 1 + 9 = 10; A1 = .72·10 = 7.2; A0 = .72·7.2 = 5.184.
        let (advantages, returns) = Advantages.generalized(
            rewards: [1, 0, 2, 0, 3, 1], values: [0.5, 0, 1, 0, 1.5, 0], terminated: [false, false, true, false, false, false],
            truncated: Array(repeating: false, count: 6), truncationValues: Array(repeating: 0, count: 6), lastValues: [2, 10],
            environments: 2,
            discount: 0.9, lambda: 0.8)
        #expect(close(advantages, [2.12, 5.184, 1, 7.2, 3.3, 10]))
        #expect(close(returns, [2.62, 5.184, 2, 7.2, 4.8, 10]))

        // A truncated step bootstraps from its episode's last observation (V = 5) and cuts the sum:
        // A1 = 1 + .5·1 − .4 = 1.1; A0 = 1 + .5·5 − .2 = 3.3.
        let (cut, _) = Advantages.generalized(
            rewards: [1, 1], values: [0.2, 0.4], terminated: [false, false], truncated: [true, false], truncationValues: [5, 0],
            lastValues: [1], environments: 1, discount: 0.5, lambda: 1)
        #expect(close(cut, [3.3, 1.1]))

        // Discounted returns to go: G = r + γ G', cut at the termination.
        let returnsToGo = Advantages.discountedReturns(
            rewards: [1, 1, 1, 1], terminated: [false, true, false, false], truncated: [false, false, false, false],
            truncationValues: [0, 0, 0, 0], lastValues: [4], environments: 1, discount: 0.5)
        // G3 = 1 + .5·4 = 3, G2 = 1 + .5·3 = 2.5, G1 = 1 (terminated), G0 = 1 + .5·1 = 1.5.
        #expect(close(returnsToGo, [1.5, 1, 2.5, 3]))
    }

    @Test("V-trace against values worked by hand, and equal to λ-returns on-policy")
    func vTrace() {
        // π/μ = .5 then 2, clipped to ρ = (.5, 1), c = (.5, 1); r = 1, V = 0, V(last) = 2, γ = .5.
        // Step 1: δ = 1·(1 + 1) = 2, v1 = 2, advantage 2. Step 0: δ = .5·1 = .5, v0 = .5 + .5·.5·2 = 1,
        // advantage .5·(1 + .5·v1) = 1.
        let (targets, advantages) = Advantages.vTrace(
            behaviourLogProbabilities: [Float(log(0.5)), Float(log(0.5))], targetLogProbabilities: [Float(log(0.25)), 0], rewards: [1, 1],
            values: [0, 0],
            terminated: [false, false], truncated: [false, false], truncationValues: [0, 0], lastValues: [2], environments: 1,
            discount: 0.5)
        #expect(close(targets, [1, 2]))
        #expect(close(advantages, [1, 2]))

        // With π = μ and λ = 1, the targets are the λ-returns of GAE(1) (Espeholt et al., remark 1).
        let rewards: [Float] = [1, -1, 2, 0.5, 3, 1, 0, 2]
        let values: [Float] = [0.3, 0.1, -0.2, 0.5, 1, 0.7, 0.2, 0.4]
        let terminated = [false, false, true, false, false, false, false, false]
        let truncated = [false, false, false, false, false, true, false, false]
        let truncationValues: [Float] = [0, 0, 0, 0, 0, 1.5, 0, 0]
        let logProbabilities: [Float] = [-0.1, -0.7, -0.3, -1.2, -0.5, -0.2, -0.9, -0.4]
        let (onPolicy, _) = Advantages.vTrace(
            behaviourLogProbabilities: logProbabilities, targetLogProbabilities: logProbabilities, rewards: rewards, values: values,
            terminated: terminated, truncated: truncated, truncationValues: truncationValues, lastValues: [0.6, -0.3], environments: 2,
            discount: 0.9)
        let (_, lambdaReturns) = Advantages.generalized(
            rewards: rewards, values: values, terminated: terminated, truncated: truncated, truncationValues: truncationValues,
            lastValues: [0.6, -0.3], environments: 2, discount: 0.9, lambda: 1)
        #expect(close(onPolicy, lambdaReturns))
    }
}
