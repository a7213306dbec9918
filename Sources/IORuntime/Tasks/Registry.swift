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
    var actors: [String: @Sendable (ClusterActorSystem) throws -> any DistributedActor] = [:]
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
        copy.actors[name] = { system in try factory(system) }
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
