// The umbrella module: `import IOCompute` brings in every public layer of the library.
@_exported import IOData
@_exported import IOFederated
@_exported import IOServe
@_exported import IONN
@_exported import IONodes
@_exported import IORL
@_exported import IORuntime
@_exported import IORuntimeTensor
@_exported import IOTensor
@_exported import IOTensorOpenCL
@_exported import IOTrain
@_exported import IOTransportTCP
@_exported import IOTune
