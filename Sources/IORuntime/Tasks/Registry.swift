import Distributed

/// The functions (and, later, actor types) a cluster's processes can run, by name.
///
/// Build one value with chained calls and pass it to ``Cluster/start(_:registry:)``; every process
/// of a cluster must build the same registry.
///
/// ```swift
/// let registry = Registry().function(square).function(norm)
/// ```
public struct Registry: Sendable {
    var functions: [String: ErasedFunction] = [:]
    var actors: [String: ActorFactory] = [:]
    var duplicates: [String] = []

    public init() {}

    /// This registry with `function` added.
    public func function<each Argument: WireSerializable, Result: WireSerializable>(
        _ function: RemoteFunction<repeat each Argument, Result>
    ) -> Registry {
        var copy = self
        if copy.functions[function.name] != nil { copy.duplicates.append(function.name) }
        copy.functions[function.name] = function.erased
        return copy
    }

    /// This registry with the distributed actor type `type`, which `factory` builds on the actor
    /// system it is given (`{ system in Counter(actorSystem: system) }`).
    public func actor<Act: DistributedActor>(
        _ type: Act.Type, factory: @escaping @Sendable (ClusterActorSystem) throws -> Act
    ) -> Registry where Act.ActorSystem == ClusterActorSystem {
        actor(type, registeredAs: String(reflecting: type), factory: factory)
    }

    /// This registry with the distributed actor type `type` under `name`, for a type registered
    /// several times with different factories (a library's runner actor, once per user
    /// workload); ``Cluster/spawn(_:registeredAs:options:)`` creates one.
    public func actor<Act: DistributedActor>(
        _ type: Act.Type, registeredAs name: String, factory: @escaping @Sendable (ClusterActorSystem) throws -> Act
    ) -> Registry where Act.ActorSystem == ClusterActorSystem {
        var copy = self
        if copy.actors[name] != nil { copy.duplicates.append(name) }
        copy.actors[name] = ActorFactory(argumentType: nil) { system, _ in try factory(system) }
        return copy
    }

    /// This registry with the distributed actor type `type`, which `factory` builds from the
    /// arguments given to ``Cluster/spawn(_:registeredAs:with:options:)`` — a model's weights,
    /// a path — so that the actor loads what it needs once, and again from the same arguments
    /// when it is restarted after its worker is lost.
    ///
    /// ```swift
    /// let registry = Registry().actor(Classifier.self, arguments: Tensor.self) { system, weights in
    ///     Classifier(actorSystem: system, weights: weights)
    /// }
    /// let weights = try cluster.put(trainedWeights)          // once, in the object store
    /// let classifier = try await cluster.spawn(Classifier.self, with: weights)
    /// ```
    ///
    /// `name` defaults to the type's name; register one type several times under different names
    /// for different factories.
    public func actor<Act: DistributedActor, Arguments: WireSerializable>(
        _ type: Act.Type, arguments: Arguments.Type, registeredAs name: String? = nil,
        factory: @escaping @Sendable (ClusterActorSystem, Arguments) throws -> Act
    ) -> Registry where Act.ActorSystem == ClusterActorSystem {
        let name = name ?? String(reflecting: type)
        var copy = self
        if copy.actors[name] != nil { copy.duplicates.append(name) }
        copy.actors[name] = ActorFactory(argumentType: Arguments.wireTypeName) { system, payload in
            guard let payload else { throw ActorError.invocationFailed("\(name) is built from \(Arguments.wireTypeName) arguments") }
            return try factory(system, try payload.value(as: Arguments.self))
        }
        return copy
    }

    /// Checks that no name was registered twice.
    func validate() throws(ClusterError) {
        if let name = duplicates.first { throw .duplicateRegistration(name: name) }
    }

    /// The registered function `name`, checked against the signature the caller expects.
    func lookup(_ name: String, signature: String) throws(ClusterError) -> ErasedFunction {
        guard let function = functions[name] else { throw .notRegistered(name: name) }
        guard function.signature == signature else {
            throw .signatureMismatch(name: name, registered: function.signature, requested: signature)
        }
        return function
    }
}

/// How a registered actor type is built: from its system alone, or from its system and the
/// arguments of the spawn.
struct ActorFactory: Sendable {
    /// The wire type name of the arguments the factory takes; `nil` when it takes none.
    let argumentType: String?
    let build: @Sendable (ClusterActorSystem, Payload?) throws -> any DistributedActor

    /// Checks that a spawn passing arguments of wire type `given` (`nil`: none) fits this factory.
    func check(_ given: String?, typeName: String) throws(ClusterError) {
        guard given != argumentType else { return }
        throw .signatureMismatch(
            name: typeName, registered: argumentType.map { "built from \($0)" } ?? "built without arguments",
            requested: given.map { "spawned with \($0)" } ?? "spawned without arguments")
    }
}
