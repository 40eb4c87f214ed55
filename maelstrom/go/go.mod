module clustersim.dev/maelstrom

go 1.19
