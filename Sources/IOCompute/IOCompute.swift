// The umbrella module: `import IOCompute` brings in every public layer of the library.
@_exported import IOTensor
