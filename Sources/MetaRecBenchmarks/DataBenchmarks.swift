import MetaRecData

func runDataBenchmarks() {}
