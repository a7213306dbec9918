import Foundation
import Testing

@testable import IOTrain

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Shared slots between ranks on one host", .timeLimit(.minutes(5)))
struct SharedSlotsTests {
    @Test("a ring of slots maps read-only from its offer and shows what the sender wrote")
    func mapsFromOffer() throws {
        let slots = try #require(SharedSlots.create(slotCount: 4, slotBytes: 1024))
        let offer = SharedSlots.Offer(process: getpid(), descriptor: slots.descriptor, slotCount: 4, slotBytes: 1024, tag: slots.tag)
        #expect(SharedSlots.Offer(offer.bytes) == offer)
        let mapped = try #require(SharedSlots.map(offer))
        let message = (0..<1024).map { UInt8($0 % 251) }
        slots.slot(3).copyMemory(from: message, byteCount: message.count)
        #expect(Array(UnsafeRawBufferPointer(start: mapped.slot(3), count: 1024)) == message)
    }

    @Test("offers that do not describe an IOCompute ring are refused, not mapped")
    func refusesBadOffers() throws {
        let slots = try #require(SharedSlots.create(slotCount: 2, slotBytes: 256))
        let good = SharedSlots.Offer(process: getpid(), descriptor: slots.descriptor, slotCount: 2, slotBytes: 256, tag: slots.tag)
        // Another tag: the same pid and descriptor on another host, or a recycled pid.
        var wrongTag = good
        wrongTag.tag = good.tag.map { $0 ^ 0xFF }
        #expect(SharedSlots.map(wrongTag) == nil)
        // Larger than the file, or absurd sizes.
        var tooLarge = good
        tooLarge.slotCount = 64
        #expect(SharedSlots.map(tooLarge) == nil)
        var zero = good
        zero.slotBytes = 0
        #expect(SharedSlots.map(zero) == nil)
        // A descriptor that is not a ring (standard input), and one that does not exist.
        var notARing = good
        notARing.descriptor = 0
        #expect(SharedSlots.map(notARing) == nil)
        var missing = good
        missing.descriptor = 9999
        #expect(SharedSlots.map(missing) == nil)
        // A malformed offer does not decode.
        #expect(SharedSlots.Offer(Array(good.bytes.dropLast())) == nil)
    }
}
