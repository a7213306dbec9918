import Testing

@testable import IORuntime

@Suite("Inline actor calls")
struct InlineCallPolicyTests {
    @Test("a method runs inline only after its warm-up calls averaged short")
    func warmUp() {
        let policy = InlineCallPolicy()
        #expect(!policy.runsInline("add"))
        for _ in 0..<(InlineCallPolicy.warmUpCalls - 1) { policy.record("add", took: .microseconds(5), inline: false) }
        #expect(!policy.runsInline("add"))
        policy.record("add", took: .microseconds(5), inline: false)
        #expect(policy.runsInline("add"))
        // Another method keeps its own record.
        #expect(!policy.runsInline("train"))
    }

    @Test("a method that averages long stays on the pool, and one that slows down goes back to it")
    func slowMethods() {
        let policy = InlineCallPolicy()
        for _ in 0..<50 { policy.record("train", took: .milliseconds(1), inline: false) }
        #expect(!policy.runsInline("train"))
        // A mostly short method with one slow call among its warm-up calls averages over the limit.
        for _ in 0..<15 { policy.record("mixed", took: .microseconds(10), inline: false) }
        policy.record("mixed", took: .milliseconds(5), inline: false)
        #expect(!policy.runsInline("mixed"))
        // A method that ran inline and slowed down moves back once its moving mean passes the limit.
        for _ in 0..<20 { policy.record("drift", took: .microseconds(10), inline: false) }
        #expect(policy.runsInline("drift"))
        for _ in 0..<20 { policy.record("drift", took: .microseconds(500), inline: true) }
        #expect(!policy.runsInline("drift"))
    }

    @Test("one inline call over the eviction limit sends its method to the pool for good")
    func eviction() {
        let policy = InlineCallPolicy()
        for _ in 0..<20 { policy.record("add", took: .microseconds(5), inline: false) }
        #expect(policy.runsInline("add"))
        policy.record("add", took: InlineCallPolicy.evictionLimit + .milliseconds(1), inline: true)
        for _ in 0..<100 { policy.record("add", took: .microseconds(5), inline: false) }
        #expect(!policy.runsInline("add"))
        // The same duration on the pool does not evict.
        for _ in 0..<20 { policy.record("get", took: .microseconds(5), inline: false) }
        policy.record("get", took: InlineCallPolicy.evictionLimit + .milliseconds(1), inline: false)
        for _ in 0..<100 { policy.record("get", took: .microseconds(5), inline: false) }
        #expect(policy.runsInline("get"))
    }
}
