import IORuntime

extension Registry {
    /// This registry with ``EnvRunner`` actors that build their environments from `catalog`
    /// (``EnvironmentCatalog/standard`` by default, or yours with your environments added).
    /// Every process of the cluster must register the same catalog.
    ///
    /// ```swift
    /// let registry = Registry().environmentRunners(.standard.adding("GridWorld-v0") { GridWorld() })
    /// ```
    public func environmentRunners(_ catalog: EnvironmentCatalog = .standard) -> Registry {
        actor(EnvRunner.self, arguments: RunnerConfiguration.self) { system, configuration in
            try EnvRunner(actorSystem: system, configuration: configuration, catalog: catalog)
        }
    }
}
