package geo

// ThreadCPU is threadCPU for the package's external tests.
var ThreadCPU = threadCPU
