import MetaRecCore

func runCoreBenchmarks() {}
