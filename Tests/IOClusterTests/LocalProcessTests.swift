import ClusterTestSupport
import Foundation
import IORuntime
import IOTensor
import IOTransportTCP
import Testing

@Suite("local worker processes", .serialized, .timeLimit(.minutes(5)))
struct LocalProcessTests {
    typealias F = ClusterTestFunctions

    @Test("tasks run in worker processes with typed results, errors and tensors")
    func tasksRunInWorkers() async throws {
        #expect(FileManager.default.isExecutableFile(atPath: ClusterProcess.node), "build ClusterTestNode first (swift build)")
        let cluster = try await ClusterProcess.start(workers: 2)
        defer { Task { await cluster.shutdown() } }
        let squares = try await cluster.get(try await (0..<200).asyncMap { try await cluster.submit(F.square, $0) })
        #expect(squares == (0..<200).map { $0 * $0 })

        let spread = TaskOptions(placement: .spread)
        let pids = Set(
            try await cluster.get(try await (0..<4).asyncMap { _ in try await cluster.submit(F.processID, 300, options: spread) }))
        #expect(pids.count == 2)
        #expect(!pids.contains(Int(getpid())))

        let failing = try await cluster.submit(F.fail, "on purpose")
        await #expect {
            try await failing.get()
        } throws: { error in
            guard let error = error as? TaskError else { return false }
            return error.taskName == "fail" && error.message.contains("on purpose")
        }

        // A tensor to a worker and back: 1 M doubles summed there; 1 M floats made there.
        let values = try Tensor<Double>.arange(0, 1_000_000)
        let stored = try await cluster.put(values)
        #expect(try await cluster.get(try await cluster.submit(F.tensorSum, stored)) == 999_999.0 * 1_000_000 / 2)
        let iota = try await cluster.get(try await cluster.submit(F.iota, 1_000_000))
        #expect(iota.shape == [1_000_000])
        #expect(iota.scalars.enumerated().allSatisfy { Float($0.offset) == $0.element })
        await cluster.shutdown()
    }

    @Test("spilled objects feed tasks in worker processes: a small one inline, a large one pulled from the driver's disk")
    func spilledInputs() async throws {
        // Chunks, not shared memory: the large object is read back from disk as the pull is served.
        let cluster = try await ClusterProcess.start(workers: 1, sharedMemory: false, objectStoreMemory: 24 << 20)
        defer { Task { await cluster.shutdown() } }
        let small = try await cluster.put(try Tensor<Float>(shape: [1_000], scalars: (0..<1_000).map(Float.init)))
        let largeScalars = (0..<(4 << 20)).map { Float($0 % 1_000) }
        let large = try await cluster.put(try Tensor<Float>(shape: [4 << 20], scalars: largeScalars))
        let kept = try await cluster.put(Tensor<Float>(repeating: 1, shape: [4 << 20]))
        let spilled = await cluster.status().objectStore
        #expect(spilled.spilledObjects == 2 && spilled.bytesInMemory <= 24 << 20)

        #expect(try await cluster.get(try await cluster.submit(F.floatSum, small)) == 999.0 * 1_000 / 2)
        #expect(try await cluster.get(try await cluster.submit(F.floatSum, large)) == largeScalars.reduce(0.0) { $0 + Double($1) })
        #expect(try await cluster.get(try await cluster.submit(F.floatSum, kept)) == Double(4 << 20))
        #expect(await cluster.status().objectStore.totalRestores >= 2)
    }

    @Test("a worker's math libraries start as many threads as the CPUs it holds, unless the driver's environment says")
    func mathThreadsFollowCPUs() async throws {
        let cluster = try await ClusterProcess.start(workers: 1, resourcesPerWorker: [.cpu: 1])
        defer { Task { await cluster.shutdown() } }
        let threads = try await cluster.get(try await cluster.submit(F.mathThreads, 0))
        func expected(_ name: String) -> Int { ProcessInfo.processInfo.environment[name].flatMap { Int($0) } ?? 1 }
        #expect(threads[0] == expected("OPENBLAS_NUM_THREADS") && threads[1] == expected("OMP_NUM_THREADS"))
        // OpenBLAS (when it is the BLAS) took the count: without it, one thread per core.
        #expect(threads[2] == -1 || threads[2] == min(threads[0], ProcessInfo.processInfo.activeProcessorCount))
    }

    @Test("worker processes inherit no descriptor of the driver but their pipes")
    func noInheritedDescriptors() async throws {
        // A file opened without close-on-exec, as SwiftNIO opens its sockets.
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("inherited-\(UUID().uuidString)").path
        let descriptor = open(path, O_CREAT | O_RDWR, 0o600)
        try #require(descriptor >= 0)
        defer {
            close(descriptor)
            unlink(path)
        }
        let cluster = try await ClusterProcess.start(workers: 1)
        let files = try await cluster.submit(F.openFiles, 0).get()
        #expect(!files.isEmpty)
        #expect(!files.contains(path), "the worker holds the driver's \(path)")
        await cluster.shutdown()
    }

    @Test("a job keeps every result when a worker is killed with SIGKILL mid-job")
    func workerKilledMidJob() async throws {
        let cluster = try await ClusterProcess.start(workers: 3)
        let spread = TaskOptions(placement: .spread)
        let pids = try await cluster.get(try await (0..<6).asyncMap { _ in try await cluster.submit(F.processID, 300, options: spread) })
        let victim = try #require(Set(pids).first)
        let refs = try await (0..<60).asyncMap { try await cluster.submit(F.slowSquare, $0, 100) }
        try await Task.sleep(for: .milliseconds(250))
        kill(pid_t(victim), SIGKILL)
        let squares = try await cluster.get(refs)
        #expect(squares == (0..<60).map { $0 * $0 })
        // Every result may be in before the driver reads the end of the victim's connection (on a
        // loaded machine the others can finish the job first): the loss is seen, but maybe later.
        #expect(await ClusterProcess.eventually { await cluster.status().workers.filter { !$0.isAlive }.count == 1 })
        // The cluster keeps working on the workers left.
        #expect(try await cluster.get(try await cluster.submit(F.square, 12)) == 144)
        await cluster.shutdown()
    }

    @Test("short tasks queued behind others on a worker killed mid-burst are retried on the workers left")
    func queuedTasksSurviveAKill() async throws {
        // Every function counts as short, however loaded the machine: the burst is pipelined.
        let cluster = try await ClusterProcess.start(workers: 2, pipelinedTaskLimit: .seconds(60))
        let spread = TaskOptions(placement: .spread)
        let pids = try await cluster.get(try await (0..<4).asyncMap { _ in try await cluster.submit(F.processID, 50, options: spread) })
        let victim = try #require(Set(pids).first)
        // The driver queues a function's tasks only once it has timed some.
        _ = try await cluster.get(try await (0..<20).asyncMap { try await cluster.submit(F.square, $0) })
        var refs: [ObjectRef<Int>] = []
        for value in 0..<4000 {
            refs.append(try await cluster.submit(F.square, value))
            if value == 1000 { kill(pid_t(victim), SIGKILL) }
        }
        #expect(try await cluster.get(refs) == (0..<4000).map { $0 * $0 })
        let status = await cluster.status()
        #expect(status.workers.filter { !$0.isAlive }.count == 1)
        #expect(status.tasks.running == 0)
        #expect(status.tasks.pipelined > 0)
        #expect(status.workers.filter(\.isAlive).allSatisfy { $0.available == $0.total })
        await cluster.shutdown()
    }

    @Test("a task without retries on a lost worker fails with workerLost; one pinned to it is unschedulable")
    func lostWorkerWithoutRetries() async throws {
        let cluster = try await ClusterProcess.start(workers: 2)
        let pinned = TaskOptions(maxRetries: 0, placement: .worker(1, strict: true))
        let pid = try await cluster.get(try await cluster.submit(F.processID, 0, options: pinned))
        let running = try await cluster.submit(F.spin, 30, options: pinned)
        try await Task.sleep(for: .milliseconds(200))
        kill(pid_t(pid), SIGKILL)
        await #expect {
            try await running.get()
        } throws: { error in
            if case .workerLost(let worker, let task, _) = error as? ClusterError { return worker == 1 && task == "spin" }
            return false
        }
        await #expect {
            try await cluster.get(try await cluster.submit(F.square, 3, options: pinned))
        } throws: { error in
            if case .unschedulable = error as? ClusterError { return true }
            return false
        }
        #expect(try await cluster.get(try await cluster.submit(F.square, 3)) == 9)
        await cluster.shutdown()
    }

    @Test("a worker that stops answering is declared lost by heartbeats and its tasks retried")
    func heartbeatDetectsHungWorker() async throws {
        let cluster = try await ClusterProcess.start(
            workers: 2, heartbeat: HeartbeatPolicy(interval: .milliseconds(100), timeout: .seconds(4)))
        let pid = try await cluster.get(try await cluster.submit(F.processID, 0, options: TaskOptions(placement: .worker(0, strict: true))))
        let refs = try await (0..<8).asyncMap {
            try await cluster.submit(F.slowSquare, $0, 200, options: TaskOptions(placement: .worker(0, strict: false)))
        }
        try await Task.sleep(for: .milliseconds(100))
        kill(pid_t(pid), SIGSTOP)
        // Declared lost (5 unanswered heartbeats, 4 s of silence: long enough that a loaded machine
        // does not starve the healthy worker into looking lost too) and its tasks retried on the
        // other worker; the test's time limit bounds how long that may take.
        #expect(try await cluster.get(refs) == (0..<8).map { $0 * $0 })
        #expect(await !cluster.status().workers[0].isAlive)
        #expect(await ClusterProcess.eventually { ClusterProcess.isGone(pid) }, "a lost worker's process is killed")
        await cluster.shutdown()
    }

    @Test("a task waiting for an input whose holder hangs lends its CPU, so the input is made again beside it (2 workers)")
    func readerLendsItsCPUToTheRebuild() async throws {
        let cluster = try await ClusterProcess.start(
            workers: 2, heartbeat: HeartbeatPolicy(interval: .milliseconds(100), timeout: .seconds(4)))
        let holder = try await cluster.get(
            try await cluster.submit(F.processID, 0, options: TaskOptions(placement: .worker(0, strict: true))))
        let count = 300_000  // 1.2 MB: kept by the worker that made it.
        let made = try await cluster.submit(F.iota, count, options: TaskOptions(placement: .worker(0, strict: false)))
        _ = await cluster.wait([made])
        kill(pid_t(holder), SIGSTOP)
        defer { kill(pid_t(holder), SIGKILL) }
        #expect(await ClusterProcess.eventually { ClusterProcess.isStopped(holder) })
        // The reader holds worker 1's only CPU while it pulls; worker 0 is lost, and the object can
        // be made again only on worker 1.
        let sum = try await cluster.submit(F.floatSum, made, options: TaskOptions(maxRetries: 0, placement: .worker(1, strict: true)))
        let (ready, _) = await cluster.wait([sum], timeout: .seconds(90))
        #expect(ready.count == 1, "the reader and the rebuild wait for each other")
        if !ready.isEmpty { #expect(try await sum.get() == Double(count - 1) * Double(count) / 2) }
        let status = await cluster.status()
        #expect(!status.workers[0].isAlive && status.tasks.running == 0)
        #expect(status.workers[1].available == status.workers[1].total, "the lent CPU is not given back twice")
        await cluster.shutdown()
    }

    @Test("a lost worker is replaced by a new process that takes work again")
    func replaceLostWorker() async throws {
        let cluster = try await ClusterProcess.start(workers: 2)
        let onWorker1 = TaskOptions(maxRetries: 0, placement: .worker(1, strict: true))
        let old = try await cluster.get(try await cluster.submit(F.processID, 0, options: onWorker1))
        // Nothing to replace while every worker lives.
        #expect(try await cluster.replaceLostWorkers() == [])
        kill(pid_t(old), SIGKILL)
        #expect(await ClusterProcess.eventually { await !cluster.status().workers[1].isAlive })
        // A task pinned to the lost worker cannot run until it is replaced.
        await #expect(throws: ClusterError.self) { try await cluster.submit(F.square, 7, options: onWorker1) }
        #expect(try await cluster.replaceLostWorkers() == [1])
        #expect(await cluster.status().workers.allSatisfy(\.isAlive))
        #expect(try await cluster.get(try await cluster.submit(F.square, 7, options: onWorker1)) == 49)
        let new = try await cluster.get(try await cluster.submit(F.processID, 0, options: onWorker1))
        #expect(new != old)
        #expect(try await cluster.get(try await (0..<20).asyncMap { try await cluster.submit(F.square, $0) }) == (0..<20).map { $0 * $0 })
        await cluster.shutdown()
        #expect(await ClusterProcess.eventually { ClusterProcess.isGone(new) }, "the replacement exits with the cluster")
    }

    @Test("worker output reaches the driver; the default re-executes this program as the workers")
    func reexecutesTheProgram() async throws {
        let (status, output) = try await ClusterProcess.run(["reexec"])
        #expect(status == 0, "\(output)")
        #expect(output.contains("SQUARES 1 4 9 16 25 36 49 64 81 100"))
        #expect(output.contains("DRIVER") && output.contains("WORKERS 2"))
        #expect(output.contains(") shout: hello from a worker"), "\(output)")
        #expect(output.contains("(worker-"))
    }

    @Test("when the driver dies, its workers exit")
    func driverDeathEndsWorkers() async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ClusterProcess.node)
        process.arguments = ["orphan-check"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let handle = pipe.fileHandleForReading
        // Read on a thread of its own: the driver prints its workers once they are up.
        let text = await onOwnThread { () -> String in
            var text = ""
            while !text.contains("\n"), text.count < 10_000 {
                let data = handle.availableData
                if data.isEmpty { break }
                text += String(decoding: data, as: UTF8.self)
                if let line = text.split(separator: "\n").first(where: { $0.hasPrefix("WORKERS") }) {
                    text = String(line) + "\n"
                }
            }
            return text
        }
        let pids =
            text.split(separator: "\n").first { $0.hasPrefix("WORKERS") }?.split(separator: " ").dropFirst().compactMap { Int($0) } ?? []
        #expect(pids.count == 2, "\(text)")
        kill(process.processIdentifier, SIGKILL)
        await Program.waitForExit(of: process)
        #expect(await ClusterProcess.eventually { pids.allSatisfy(ClusterProcess.isGone) })
    }
}

@Suite("objects between processes", .serialized, .timeLimit(.minutes(5)))
struct ProcessObjectTests {
    typealias F = ClusterTestFunctions

    static func iotaSum(_ count: Int) -> Double { Double(count - 1) * Double(count) / 2 }

    @Test(
        "a large result stays with its worker; another worker and the driver pull it, many readers at once",
        arguments: [true, false])
    func largeObjectsArePulled(sharedMemory: Bool) async throws {
        let cluster = try await ClusterProcess.start(workers: 2, sharedMemory: sharedMemory)
        let onSecond = TaskOptions(placement: .worker(1, strict: true))
        func pulledCopies() async throws -> Int { try await cluster.get(try await cluster.submit(F.pulledCopies, 0, options: onSecond)) }
        do {
            let made = try await cluster.submit(F.iota, 2_000_000, options: TaskOptions(placement: .worker(0, strict: true)))
            let sums = try await (0..<6).asyncMap { _ in try await cluster.submit(F.floatSum, made, options: onSecond) }
            #expect(try await cluster.get(sums) == Array(repeating: Self.iotaSum(2_000_000), count: 6))
            // Concurrent reads on the driver share one transfer.
            let readers = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<4 { group.addTask { try await made.get().shape[0] } }
                return try await group.reduce(0, +)
            }
            #expect(readers == 8_000_000)
            // A large object put on the driver, read by a worker.
            let put = try await cluster.put(try Tensor<Float>.ones([600_000]))  // 2.4 MB: encoded into kept memory
            #expect(try await cluster.get(try await cluster.submit(F.floatSum, put, options: onSecond)) == 600_000)
            // The reading worker keeps a copy of each to read again, unless both are lent in
            // shared memory, which is mapped again instead.
            #expect(try await pulledCopies() == (sharedMemory ? 0 : 2))
        }
        // Once the driver lets go of both, the reader's copies go too.
        #expect(await ClusterProcess.eventually { (try? await pulledCopies()) == 0 })
        await cluster.shutdown()
    }

    @Test(
        "tensors borrowed from a loan or a pulled buffer leave their object intact under writes and outlive its worker",
        arguments: [true, false])
    func sharedObjectsStayIntact(sharedMemory: Bool) async throws {
        let cluster = try await ClusterProcess.start(workers: 2, sharedMemory: sharedMemory)
        let count = 1_000_000
        let onFirst = TaskOptions(placement: .worker(0, strict: true))
        // Made in a worker, mapped by the driver: a write to the tensor got must not reach the object.
        let made = try await cluster.submit(F.iota, count, options: onFirst)
        var got = try await made.get()
        got.withUnsafeMutableBufferPointer { $0[0] = 1e9 }
        #expect(try await made.get().scalars.first == 0)
        #expect(try await cluster.get(try await cluster.submit(F.negateSum, made)) == -Self.iotaSum(count))
        #expect(try await cluster.get(try await cluster.submit(F.floatSum, made)) == Self.iotaSum(count))
        // Put on the driver, mapped by a worker that writes to its input.
        let put = try await cluster.put(try Tensor<Float>(shape: [count], scalars: (0..<count).map(Float.init)))
        #expect(try await cluster.get(try await cluster.submit(F.negateSum, put, options: onFirst)) == -Self.iotaSum(count))
        #expect(try await cluster.get(try await cluster.submit(F.floatSum, put, options: onFirst)) == Self.iotaSum(count))
        #expect(try await put.get().scalars.last == Float(count - 1))
        // The tensor the driver mapped keeps its elements after the worker that lent them dies.
        let kept = try await made.get()
        let pid = try await cluster.get(try await cluster.submit(F.processID, 0, options: onFirst))
        kill(pid_t(pid), SIGKILL)
        #expect(await ClusterProcess.eventually { (await cluster.status()).workers[0].isAlive == false })
        #expect(kept.scalars.reduce(0.0) { $0 + Double($1) } == Self.iotaSum(count))
        await cluster.shutdown()
    }

    @Test("objects whose only copy was on a killed worker are rebuilt from their lineage")
    func lineageReconstruction() async throws {
        let cluster = try await ClusterProcess.start(workers: 2)
        let onFirst = TaskOptions(placement: .worker(0, strict: false))
        let pid = try await cluster.get(try await cluster.submit(F.processID, 0, options: TaskOptions(placement: .worker(0, strict: true))))
        let made = try await (1...3).asyncMap { try await cluster.submit(F.iota, 100_000 * $0, options: onFirst) }
        _ = await cluster.wait(made)
        kill(pid_t(pid), SIGKILL)
        #expect(await ClusterProcess.eventually { (await cluster.status()).workers[0].isAlive == false })
        // Read directly, and as inputs of new tasks on the surviving worker.
        for (index, ref) in made.enumerated() {
            let count = 100_000 * (index + 1)
            #expect(try await cluster.get(try await cluster.submit(F.floatSum, ref)) == Self.iotaSum(count))
            let tensor = try await ref.get()
            #expect(tensor.shape == [count] && tensor.scalars.last == Float(count - 1))
        }
        await cluster.shutdown()
    }
}
