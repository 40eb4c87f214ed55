// Gossip Glomers challenge 1 in Go: echo.
package main

import (
	"log"

	"clustersim.dev/maelstrom"
)

func main() {
	n := maelstrom.NewNode()
	n.Handle("echo", func(msg maelstrom.Message) error {
		return n.Reply(msg, map[string]any{"type": "echo_ok", "echo": msg.Fields()["echo"]})
	})
	if err := n.Run(); err != nil {
		log.Fatal(err)
	}
}
