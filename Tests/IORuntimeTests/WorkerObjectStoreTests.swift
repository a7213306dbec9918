import Synchronization
import Testing

@testable import IORuntime

@Suite("A worker's object store")
struct WorkerObjectStoreTests {
    /// `count` bytes of memory of their own, as a pull assembles them; `released` runs when
    /// the memory goes back.
    static func pulledCopy(_ count: Int, released: @escaping @Sendable () -> Void = {}) -> SharedBytes {
        let memory = UnsafeMutableRawBufferPointer.allocate(byteCount: count, alignment: 64)
        memory.initializeMemory(as: UInt8.self, repeating: 7)
        let address = Int(bitPattern: memory.baseAddress)
        return SharedBytes(bytes: UnsafeRawBufferPointer(memory)) {
            UnsafeMutableRawPointer(bitPattern: address)?.deallocate()
            released()
        }
    }

    @Test("a copy pulled after the driver freed its object is not kept, and what is freed is forgotten in time")
    func freedDuringPull() {
        let store = WorkerObjectStore(cacheCapacity: 1 << 20)
        let freed = ObjectID(session: 1, sequence: 1)
        let live = ObjectID(session: 1, sequence: 2)
        // The driver's word arrives while the pull is under way; its copy then completes.
        store.free(freed)
        let released = Atomic<Int>(0)
        store.cache(freed, typeName: "[UInt8]", bytes: Self.pulledCopy(100) { released.add(1, ordering: .relaxed) })
        #expect(store.stored(freed) == nil)
        #expect(released.load(ordering: .relaxed) == 1, "the copy's memory went back at once")
        // Other objects are kept until freed.
        store.cache(live, typeName: "[UInt8]", bytes: Self.pulledCopy(100))
        #expect(store.stored(live) != nil)
        store.free(live)
        #expect(store.stored(live) == nil)
        // The record of freed objects is bounded: the oldest are forgotten.
        for sequence in 0..<UInt64(WorkerObjectStore.freedMemory) { store.free(ObjectID(session: 2, sequence: sequence)) }
        store.cache(freed, typeName: "[UInt8]", bytes: Self.pulledCopy(100))
        #expect(store.stored(freed) != nil)
        store.cache(ObjectID(session: 2, sequence: 5), typeName: "[UInt8]", bytes: Self.pulledCopy(100))
        #expect(store.stored(ObjectID(session: 2, sequence: 5)) == nil)
    }
}
