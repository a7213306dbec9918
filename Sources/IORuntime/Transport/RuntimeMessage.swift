import CChecksum

/// What the driver and its workers say to each other.
enum RuntimeMessage: Sendable {
    /// Driver → worker: run a task.
    case execute(TaskAssignment)
    /// Driver → worker: stop a running task.
    case cancel(taskID: UInt64)
    /// Worker → driver: a task finished.
    case completed(TaskCompletion)
    /// Caller → host: call a method of a distributed actor.
    case actorCall(ActorCall)
    /// Host → caller: the outcome of an actor call.
    case actorReply(ActorReply)
    /// Driver → worker: are you alive? (carries a sequence number).
    case heartbeat(UInt64)
    /// Worker → driver: the answer to a heartbeat.
    case heartbeatAck(UInt64)
    /// Driver → worker: build an actor of a registered type under an identity the driver chose.
    case spawnActor(ActorSpawn)
    /// Worker → driver: the actor is built, or why it is not.
    case actorSpawned(ActorSpawned)
    /// Driver → worker: drop an actor.
    case killActor(ActorIdentity)
    /// Either way: send me this object, in chunks, or lent in shared memory when `sharedMemory`
    /// (the asker is on the same host and can map it).
    case pullObject(ObjectID, sharedMemory: Bool)
    /// Either way: a piece of an object being pulled.
    case objectChunk(ObjectChunk)
    /// Either way: the object asked for cannot be sent.
    case objectUnavailable(ObjectID, reason: String)
    /// Driver → worker: drop your copy of an object; no ref to it is left.
    case freeObject(ObjectID)
    /// Either way: the object pulled, lent in a shared-memory segment of the sender.
    case objectShared(SharedObject)
    /// Either way: done with a segment that the receiver lent.
    case releaseSegment(UInt64)
    /// Worker → driver: send me this object in chunks, or answer ``objectAt(_:)`` when another
    /// worker that serves its objects directly holds it (a cluster of machines).
    case pullOrLocate(ObjectID)
    /// Driver → worker: the object asked for with ``pullOrLocate(_:)`` is held by a worker that
    /// serves it at an address.
    case objectAt(ObjectLocation)
    /// Worker → driver: where this worker serves its objects to the others.
    case objectService(host: String, port: Int)

    /// The frame kinds of the messages.
    enum Kind: UInt16 {
        case execute = 1
        case cancel = 2
        case completed = 3
        case actorCall = 4
        case actorReply = 5
        case heartbeat = 6
        case heartbeatAck = 7
        case spawnActor = 8
        case actorSpawned = 9
        case killActor = 10
        case pullObject = 11
        case objectChunk = 12
        case objectUnavailable = 13
        case freeObject = 14
        case objectShared = 15
        case releaseSegment = 16
        case pullOrLocate = 17
        case objectAt = 18
        case objectService = 19
    }
}

/// A task for a worker to run.
struct TaskAssignment: Sendable {
    let taskID: UInt64
    let attempt: Int
    let functionName: String
    let signature: String
    let arguments: [TaskInput]
    let timeout: Duration?
    /// The object the result becomes (a worker process keeps large results under it).
    let resultID: ObjectID
    /// The task this one is queued behind on the worker, which starts it as soon as that one's
    /// outcome is reported (inheriting its resources); `nil` to start at once. See
    /// `ClusterConfiguration.pipelineDepth`.
    var after: UInt64? = nil
    /// Whether the worker keeps the result, whatever its size, and never lets it leave (see
    /// ``TaskOptions/pinsResult``).
    var pinsResult = false
}

/// A task argument as assigned: its bytes, or — for a large object — where to pull it from.
enum TaskInput: Sendable {
    case inline(Payload)
    case reference(ObjectReference)

    /// The payload of an inline argument (in process every argument is inline).
    var inlinePayload: Payload? {
        if case .inline(let payload) = self { return payload }
        return nil
    }

    func encode(to encoder: inout WireEncoder) {
        switch self {
        case .inline(let payload):
            encoder.write(UInt8(0))
            payload.encode(to: &encoder)
        case .reference(let reference):
            encoder.write(UInt8(1))
            reference.id.encode(to: &encoder)
            encoder.write(reference.holder.rawValue)
            encoder.write(reference.typeName)
            encoder.writeLength(reference.byteCount)
        }
    }

    static func decode(from decoder: inout WireDecoder) throws(WireError) -> TaskInput {
        switch try decoder.read(UInt8.self) {
        case 0: return .inline(try Payload.decode(from: &decoder))
        case 1:
            let id = try ObjectID(from: &decoder)
            let holder = PeerID(try decoder.read(UInt32.self))
            return .reference(
                ObjectReference(id: id, holder: holder, typeName: try decoder.read(String.self), byteCount: try decoder.readLength()))
        case let tag: throw .invalid(what: "task argument", reason: "tag \(tag)")
        }
    }
}

/// Where a large object is: the peer holding it, its type and size.
struct ObjectReference: Sendable {
    let id: ObjectID
    let holder: PeerID
    let typeName: String
    let byteCount: Int
}

/// Where a worker holding an object serves it to other workers.
struct ObjectLocation: Sendable, Equatable {
    let id: ObjectID
    /// The worker that holds it.
    let holder: PeerID
    let host: String
    let port: Int
    /// The object's encoded size, as its holder reported it when it was made.
    let byteCount: Int

    /// Whether `host:port` can be an address: a port, and a host of at most 253 bytes with no
    /// spaces or control characters.
    static func isValid(host: String, port: Int) -> Bool {
        (1...65535).contains(port) && !host.isEmpty && host.utf8.count <= 253 && host.utf8.allSatisfy { $0 > 32 && $0 < 127 }
    }
}

/// A piece of an object on its way to the node that pulled it, with a CRC-32C of its bytes.
struct ObjectChunk: Sendable {
    let id: ObjectID
    let typeName: String
    let totalCount: Int
    let offset: Int
    let bytes: ChunkBytes
    /// The checksum the chunk came with; `nil` for a chunk about to be sent, whose checksum is
    /// computed as its bytes are copied into the connection's buffer.
    private let givenChecksum: UInt32?

    /// The CRC-32C of the bytes: as the chunk came with it, or computed now (once per call: a
    /// chunk being sent through a transport has it computed as its bytes are copied instead).
    var checksum: UInt32 { givenChecksum ?? bytes.withUnsafeBytes { ObjectTransfer.checksum($0) } }

    init(id: ObjectID, typeName: String, totalCount: Int, offset: Int, checksum: UInt32?, bytes: ChunkBytes) {
        self.id = id
        self.typeName = typeName
        self.totalCount = totalCount
        self.offset = offset
        givenChecksum = checksum
        self.bytes = bytes
    }

    init(id: ObjectID, typeName: String, totalCount: Int, offset: Int, checksum: UInt32?, bytes: ArraySlice<UInt8>) {
        self.init(id: id, typeName: typeName, totalCount: totalCount, offset: offset, checksum: checksum, bytes: ChunkBytes(bytes))
    }

    /// What a chunk's encoding says before its bytes.
    struct Header: Sendable {
        let id: ObjectID
        let typeName: String
        let totalCount: Int
        let offset: Int
        let checksum: UInt32
        /// The length of the chunk's bytes.
        let count: Int
        /// The length of the encoding up to the bytes.
        let encodedLength: Int
    }

    /// The header at the start of a chunk's encoding, read from its first bytes; `nil` when they
    /// do not hold all of it or it is malformed.
    static func header(from prefix: [UInt8]) -> Header? {
        var decoder = WireDecoder(prefix)
        do {
            let id = try ObjectID(from: &decoder)
            let typeName = try decoder.read(String.self)
            let total = try decoder.readLength()
            let offset = try decoder.readLength()
            let checksum = try decoder.read(UInt32.self)
            let count = try decoder.readLength()
            return Header(
                id: id, typeName: typeName, totalCount: total, offset: offset, checksum: checksum, count: count,
                encodedLength: decoder.position)
        } catch {
            return nil
        }
    }

    /// The chunk's encoding up to its bytes: its frame's payload is this, then `bytes` as they are.
    var encodedHeader: [UInt8] { encodedHeader(checksum: checksum).bytes }

    /// The encoding up to the bytes with `checksum` in it, and where the checksum's four
    /// little-endian bytes are.
    private func encodedHeader(checksum: UInt32) -> (bytes: [UInt8], checksumAt: Int) {
        var encoder = WireEncoder(reservingCapacity: typeName.utf8.count + 64)
        id.encode(to: &encoder)
        encoder.write(typeName)
        encoder.writeLength(totalCount)
        encoder.writeLength(offset)
        let checksumAt = encoder.bytes.count
        encoder.write(checksum)
        encoder.writeLength(bytes.count)
        return (encoder.bytes, checksumAt)
    }

    /// Sends the chunk through `transport` with its bytes copied once, straight into the
    /// connection's buffer, rather than into a frame first; a chunk without a checksum yet has
    /// it computed in the same pass as the copy, rather than in a pass of its own over memory.
    func send(through transport: any Transport, from source: PeerID, to destination: PeerID) throws {
        let kind = RuntimeMessage.Kind.objectChunk.rawValue
        guard givenChecksum == nil else {
            return try encodedHeader.withUnsafeBytes { header in
                try bytes.withUnsafeBytes { body in
                    try transport.send(kind: kind, payload: [header, body], from: source, to: destination)
                }
            }
        }
        let (header, checksumAt) = encodedHeader(checksum: 0)
        try bytes.withUnsafeBytes { body in
            try transport.send(kind: kind, payloadLength: header.count + body.count, from: source, to: destination) { payload in
                header.withUnsafeBytes { payload.copyMemory(from: $0) }
                let crc = iocompute_crc32c_copy(0, payload.baseAddress! + header.count, body.baseAddress, body.count)
                payload.storeBytes(of: crc.littleEndian, toByteOffset: checksumAt, as: UInt32.self)
            }
        }
    }
}

/// An object lent in shared memory: `byteCount` bytes of its encoding at the start of the
/// memory file that process `process` holds open as `descriptor` (read through
/// `/proc/<process>/fd/<descriptor>`). The reader sends ``RuntimeMessage/releaseSegment(_:)``
/// with `segment` when it no longer maps it; until then the lender does not touch it.
struct SharedObject: Sendable, Equatable {
    let id: ObjectID
    let typeName: String
    let process: Int32
    let descriptor: Int32
    let segment: UInt64
    let byteCount: Int
}

/// A request to build an actor on a worker process.
struct ActorSpawn: Sendable {
    let actor: ActorIdentity
    let typeName: String
    /// How many of its calls may run at once (``ActorOptions/maxConcurrency``).
    var maxConcurrency = 1
    /// What its factory is given, when it takes arguments: inline, or an object to pull.
    var arguments: TaskInput?
}

/// A worker's answer to ``ActorSpawn``: `error` is `nil` when the actor is built.
struct ActorSpawned: Sendable {
    let actor: ActorIdentity
    let error: TaskError?
}

/// How a task attempt ended.
enum TaskOutcome: Sendable {
    case success(Payload)
    case thrown(TaskError)
    case timedOut
    case cancelled
    /// Succeeded; the worker process keeps the result (too large to send unasked).
    case stored(typeName: String, byteCount: Int)
}

/// A worker's report of a finished task attempt.
struct TaskCompletion: Sendable {
    let taskID: UInt64
    let attempt: Int
    let worker: Int
    let outcome: TaskOutcome
}

// MARK: - Codec

extension TaskError {
    /// A task error travels as its task name, error type and message; the error value itself
    /// stays in the process that threw it.
    func encode(to encoder: inout WireEncoder) {
        encoder.write(taskName)
        encoder.write(errorType)
        encoder.write(message)
    }

    static func decode(from decoder: inout WireDecoder) throws(WireError) -> TaskError {
        TaskError(
            taskName: try decoder.read(String.self), errorType: try decoder.read(String.self),
            message: try decoder.read(String.self))
    }
}

extension Payload {
    func encode(to encoder: inout WireEncoder) {
        let (typeName, bytes) = encoded
        encoder.write(typeName)
        bytes.withUnsafeBytes { encoder.writeBlock($0) }
    }

    static func decode(from decoder: inout WireDecoder) throws(WireError) -> Payload {
        let typeName = try decoder.read(String.self)
        return .bytes(typeName: typeName, try decoder.readBlock())
    }
}

extension RuntimeMessage {
    /// This message as a frame; values in payloads are encoded here.
    func frame() -> WireFrame {
        var encoder = WireEncoder()
        switch self {
        case .execute(let assignment):
            encoder.write(assignment.taskID)
            encoder.writeLength(assignment.attempt)
            encoder.write(assignment.functionName)
            encoder.write(assignment.signature)
            assignment.resultID.encode(to: &encoder)
            encoder.writeLength(assignment.arguments.count)
            for argument in assignment.arguments { argument.encode(to: &encoder) }
            if let timeout = assignment.timeout {
                encoder.write(UInt8(1))
                encoder.write(timeout.components.seconds)
                encoder.write(timeout.components.attoseconds)
            } else {
                encoder.write(UInt8(0))
            }
            if let after = assignment.after {
                encoder.write(UInt8(1))
                encoder.write(after)
            } else {
                encoder.write(UInt8(0))
            }
            encoder.write(assignment.pinsResult)
            return WireFrame(kind: Kind.execute.rawValue, payload: encoder.bytes)
        case .cancel(let taskID):
            encoder.write(taskID)
            return WireFrame(kind: Kind.cancel.rawValue, payload: encoder.bytes)
        case .completed(let completion):
            encoder.write(completion.taskID)
            encoder.writeLength(completion.attempt)
            encoder.writeLength(completion.worker)
            switch completion.outcome {
            case .success(let payload):
                encoder.write(UInt8(0))
                payload.encode(to: &encoder)
            case .thrown(let error):
                encoder.write(UInt8(1))
                error.encode(to: &encoder)
            case .timedOut: encoder.write(UInt8(2))
            case .cancelled: encoder.write(UInt8(3))
            case .stored(let typeName, let byteCount):
                encoder.write(UInt8(4))
                encoder.write(typeName)
                encoder.writeLength(byteCount)
            }
            return WireFrame(kind: Kind.completed.rawValue, payload: encoder.bytes)
        case .actorCall(let call):
            encoder.write(call.callID)
            encoder.write(call.replyTo.rawValue)
            call.actor.encode(to: &encoder)
            encoder.write(call.target)
            encoder.writeLength(call.genericSubstitutions.count)
            for name in call.genericSubstitutions { encoder.write(name) }
            encoder.writeLength(call.arguments.count)
            for argument in call.arguments { argument.encode(to: &encoder) }
            return WireFrame(kind: Kind.actorCall.rawValue, payload: encoder.bytes)
        case .actorReply(let reply):
            encoder.write(reply.callID)
            encoder.write(reply.replyTo.rawValue)
            switch reply.outcome {
            case .value(let payload):
                encoder.write(UInt8(0))
                payload.encode(to: &encoder)
            case .void:
                encoder.write(UInt8(1))
            case .thrown(let error):
                encoder.write(UInt8(2))
                error.encode(to: &encoder)
            }
            return WireFrame(kind: Kind.actorReply.rawValue, payload: encoder.bytes)
        case .heartbeat(let sequence):
            encoder.write(sequence)
            return WireFrame(kind: Kind.heartbeat.rawValue, payload: encoder.bytes)
        case .heartbeatAck(let sequence):
            encoder.write(sequence)
            return WireFrame(kind: Kind.heartbeatAck.rawValue, payload: encoder.bytes)
        case .spawnActor(let spawn):
            spawn.actor.encode(to: &encoder)
            encoder.write(spawn.typeName)
            encoder.writeLength(spawn.maxConcurrency)
            if let arguments = spawn.arguments {
                encoder.write(UInt8(1))
                arguments.encode(to: &encoder)
            } else {
                encoder.write(UInt8(0))
            }
            return WireFrame(kind: Kind.spawnActor.rawValue, payload: encoder.bytes)
        case .actorSpawned(let spawned):
            spawned.actor.encode(to: &encoder)
            if let error = spawned.error {
                encoder.write(UInt8(1))
                error.encode(to: &encoder)
            } else {
                encoder.write(UInt8(0))
            }
            return WireFrame(kind: Kind.actorSpawned.rawValue, payload: encoder.bytes)
        case .killActor(let actor):
            actor.encode(to: &encoder)
            return WireFrame(kind: Kind.killActor.rawValue, payload: encoder.bytes)
        case .pullObject(let id, let sharedMemory):
            id.encode(to: &encoder)
            encoder.write(sharedMemory)
            return WireFrame(kind: Kind.pullObject.rawValue, payload: encoder.bytes)
        case .objectChunk(let chunk):
            var payload = chunk.encodedHeader
            chunk.bytes.withUnsafeBytes { payload.append(contentsOf: $0) }
            return WireFrame(kind: Kind.objectChunk.rawValue, payload: payload)
        case .objectUnavailable(let id, let reason):
            id.encode(to: &encoder)
            encoder.write(reason)
            return WireFrame(kind: Kind.objectUnavailable.rawValue, payload: encoder.bytes)
        case .freeObject(let id):
            id.encode(to: &encoder)
            return WireFrame(kind: Kind.freeObject.rawValue, payload: encoder.bytes)
        case .objectShared(let shared):
            shared.id.encode(to: &encoder)
            encoder.write(shared.typeName)
            encoder.write(shared.process)
            encoder.write(shared.descriptor)
            encoder.write(shared.segment)
            encoder.writeLength(shared.byteCount)
            return WireFrame(kind: Kind.objectShared.rawValue, payload: encoder.bytes)
        case .releaseSegment(let segment):
            encoder.write(segment)
            return WireFrame(kind: Kind.releaseSegment.rawValue, payload: encoder.bytes)
        case .pullOrLocate(let id):
            id.encode(to: &encoder)
            return WireFrame(kind: Kind.pullOrLocate.rawValue, payload: encoder.bytes)
        case .objectAt(let location):
            location.id.encode(to: &encoder)
            encoder.write(location.holder.rawValue)
            encoder.write(location.host)
            encoder.writeLength(location.port)
            encoder.writeLength(location.byteCount)
            return WireFrame(kind: Kind.objectAt.rawValue, payload: encoder.bytes)
        case .objectService(let host, let port):
            encoder.write(host)
            encoder.writeLength(port)
            return WireFrame(kind: Kind.objectService.rawValue, payload: encoder.bytes)
        }
    }

    /// Decodes a message from a frame.
    init(frame: WireFrame) throws(WireError) {
        var decoder = WireDecoder(frame.payload)
        switch Kind(rawValue: frame.kind) {
        case .execute:
            let taskID = try decoder.read(UInt64.self)
            let attempt = try decoder.readLength()
            let name = try decoder.read(String.self)
            let signature = try decoder.read(String.self)
            let resultID = try ObjectID(from: &decoder)
            let count = try decoder.readLength()
            guard count <= decoder.remaining else { throw .truncated(what: "arguments", needed: count, remaining: decoder.remaining) }
            var arguments: [TaskInput] = []
            for _ in 0..<count { arguments.append(try TaskInput.decode(from: &decoder)) }
            var timeout: Duration?
            switch try decoder.read(UInt8.self) {
            case 0: timeout = nil
            case 1: timeout = Duration(secondsComponent: try decoder.read(Int64.self), attosecondsComponent: try decoder.read(Int64.self))
            case let tag: throw .invalid(what: "timeout", reason: "tag \(tag)")
            }
            var after: UInt64?
            switch try decoder.read(UInt8.self) {
            case 0: after = nil
            case 1: after = try decoder.read(UInt64.self)
            case let tag: throw .invalid(what: "predecessor", reason: "tag \(tag)")
            }
            let pinsResult = try decoder.read(Bool.self)
            self = .execute(
                TaskAssignment(
                    taskID: taskID, attempt: attempt, functionName: name, signature: signature, arguments: arguments, timeout: timeout,
                    resultID: resultID, after: after, pinsResult: pinsResult))
        case .cancel:
            self = .cancel(taskID: try decoder.read(UInt64.self))
        case .completed:
            let taskID = try decoder.read(UInt64.self)
            let attempt = try decoder.readLength()
            let worker = try decoder.readLength()
            let outcome: TaskOutcome
            switch try decoder.read(UInt8.self) {
            case 0: outcome = .success(try Payload.decode(from: &decoder))
            case 1:
                outcome = .thrown(
                    try TaskError.decode(from: &decoder))
            case 2: outcome = .timedOut
            case 3: outcome = .cancelled
            case 4: outcome = .stored(typeName: try decoder.read(String.self), byteCount: try decoder.readLength())
            case let tag: throw .invalid(what: "task outcome", reason: "tag \(tag)")
            }
            self = .completed(TaskCompletion(taskID: taskID, attempt: attempt, worker: worker, outcome: outcome))
        case .actorCall:
            let callID = try decoder.read(UInt64.self)
            let replyTo = PeerID(try decoder.read(UInt32.self))
            let actor = try ActorIdentity(from: &decoder)
            let target = try decoder.read(String.self)
            let substitutionCount = try decoder.readLength()
            guard substitutionCount <= decoder.remaining else {
                throw .truncated(what: "generic substitutions", needed: substitutionCount, remaining: decoder.remaining)
            }
            var substitutions: [String] = []
            for _ in 0..<substitutionCount { substitutions.append(try decoder.read(String.self)) }
            let count = try decoder.readLength()
            guard count <= decoder.remaining else { throw .truncated(what: "arguments", needed: count, remaining: decoder.remaining) }
            var arguments: [Payload] = []
            for _ in 0..<count { arguments.append(try Payload.decode(from: &decoder)) }
            self = .actorCall(
                ActorCall(
                    callID: callID, replyTo: replyTo, actor: actor, target: target, genericSubstitutions: substitutions,
                    arguments: arguments))
        case .actorReply:
            let callID = try decoder.read(UInt64.self)
            let replyTo = PeerID(try decoder.read(UInt32.self))
            let outcome: ActorReply.Outcome
            switch try decoder.read(UInt8.self) {
            case 0: outcome = .value(try Payload.decode(from: &decoder))
            case 1: outcome = .void
            case 2:
                outcome = .thrown(
                    try TaskError.decode(from: &decoder))
            case let tag: throw .invalid(what: "actor reply", reason: "tag \(tag)")
            }
            self = .actorReply(ActorReply(callID: callID, replyTo: replyTo, outcome: outcome))
        case .heartbeat:
            self = .heartbeat(try decoder.read(UInt64.self))
        case .heartbeatAck:
            self = .heartbeatAck(try decoder.read(UInt64.self))
        case .spawnActor:
            let actor = try ActorIdentity(from: &decoder)
            let typeName = try decoder.read(String.self)
            let maxConcurrency = try decoder.readLength()
            guard maxConcurrency >= 1 else { throw .invalid(what: "actor spawn", reason: "a concurrency limit of 0") }
            let arguments: TaskInput?
            switch try decoder.read(UInt8.self) {
            case 0: arguments = nil
            case 1: arguments = try TaskInput.decode(from: &decoder)
            case let tag: throw .invalid(what: "actor spawn arguments", reason: "tag \(tag)")
            }
            self = .spawnActor(ActorSpawn(actor: actor, typeName: typeName, maxConcurrency: maxConcurrency, arguments: arguments))
        case .actorSpawned:
            let actor = try ActorIdentity(from: &decoder)
            switch try decoder.read(UInt8.self) {
            case 0: self = .actorSpawned(ActorSpawned(actor: actor, error: nil))
            case 1: self = .actorSpawned(ActorSpawned(actor: actor, error: try TaskError.decode(from: &decoder)))
            case let tag: throw .invalid(what: "actor spawn outcome", reason: "tag \(tag)")
            }
        case .killActor:
            self = .killActor(try ActorIdentity(from: &decoder))
        case .pullObject:
            self = .pullObject(try ObjectID(from: &decoder), sharedMemory: try decoder.read(Bool.self))
        case .objectChunk:
            let id = try ObjectID(from: &decoder)
            let typeName = try decoder.read(String.self)
            let total = try decoder.readLength()
            let offset = try decoder.readLength()
            let checksum = try decoder.read(UInt32.self)
            let bytes = try decoder.readBlockSlice()
            guard offset <= total, bytes.count <= total - offset else {
                throw .invalid(what: "object chunk", reason: "\(bytes.count) bytes at \(offset) overrun an object of \(total)")
            }
            self = .objectChunk(
                ObjectChunk(id: id, typeName: typeName, totalCount: total, offset: offset, checksum: checksum, bytes: bytes))
        case .objectUnavailable:
            self = .objectUnavailable(try ObjectID(from: &decoder), reason: try decoder.read(String.self))
        case .freeObject:
            self = .freeObject(try ObjectID(from: &decoder))
        case .objectShared:
            self = .objectShared(
                SharedObject(
                    id: try ObjectID(from: &decoder), typeName: try decoder.read(String.self), process: try decoder.read(Int32.self),
                    descriptor: try decoder.read(Int32.self), segment: try decoder.read(UInt64.self), byteCount: try decoder.readLength()))
        case .releaseSegment:
            self = .releaseSegment(try decoder.read(UInt64.self))
        case .pullOrLocate:
            self = .pullOrLocate(try ObjectID(from: &decoder))
        case .objectAt:
            let id = try ObjectID(from: &decoder)
            let holder = PeerID(try decoder.read(UInt32.self))
            let host = try decoder.read(String.self)
            let port = try decoder.readLength()
            let byteCount = try decoder.readLength()
            guard holder != .driver, ObjectLocation.isValid(host: host, port: port) else {
                throw .invalid(what: "object location", reason: "\(holder) at \(host):\(port)")
            }
            self = .objectAt(ObjectLocation(id: id, holder: holder, host: host, port: port, byteCount: byteCount))
        case .objectService:
            let host = try decoder.read(String.self)
            let port = try decoder.readLength()
            guard ObjectLocation.isValid(host: host, port: port) else {
                throw .invalid(what: "object service", reason: "\(host):\(port)")
            }
            self = .objectService(host: host, port: port)
        case nil:
            throw .invalid(what: "frame", reason: "unknown message kind \(frame.kind)")
        }
        guard decoder.isAtEnd else { throw .invalid(what: "message", reason: "\(decoder.remaining) bytes after it") }
    }
}
