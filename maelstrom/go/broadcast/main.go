// Gossip Glomers challenge 3 in Go: broadcast that gossips each neighbour's unacknowledged
// values every 100 ms of virtual time until they are acknowledged (as broadcast.py does).
package main

import (
	"log"
	"sort"
	"time"

	"clustersim.dev/maelstrom"
)

func sorted(set map[int]bool) []int {
	out := make([]int, 0, len(set))
	for v := range set {
		out = append(out, v)
	}
	sort.Ints(out) // a map's order differs from run to run
	return out
}

func main() {
	n := maelstrom.NewNode()
	messages := map[int]bool{}
	var neighbours []string
	pending := map[string]map[int]bool{}
	waiting := map[string]int{}

	learn := func(values []int, source string) {
		for _, v := range values {
			if messages[v] {
				continue
			}
			messages[v] = true
			for _, nb := range neighbours {
				if nb != source {
					pending[nb][v] = true
				}
			}
		}
	}
	ints := func(x any) []int {
		var out []int
		list, _ := x.([]any)
		for _, v := range list {
			if f, ok := v.(float64); ok {
				out = append(out, int(f))
			}
		}
		return out
	}
	gossip := func() {
		for _, nb := range neighbours {
			if w, ok := waiting[nb]; ok && w < 10 {
				waiting[nb]++
				continue
			}
			values := sorted(pending[nb])
			if len(values) == 0 {
				continue
			}
			waiting[nb] = 0
			to := nb
			n.RPC(to, map[string]any{"type": "gossip", "messages": values}, func(reply maelstrom.Message) {
				delete(waiting, to)
				for _, v := range ints(reply.Fields()["messages"]) {
					delete(pending[to], v)
				}
			})
		}
	}
	n.Handle("topology", func(msg maelstrom.Message) error {
		topo, _ := msg.Fields()["topology"].(map[string]any)
		mine, _ := topo[n.ID].([]any)
		for _, nb := range mine {
			if s, ok := nb.(string); ok {
				neighbours = append(neighbours, s)
				pending[s] = map[int]bool{}
			}
		}
		n.Every(100*time.Millisecond, gossip)
		return n.Reply(msg, map[string]any{"type": "topology_ok"})
	})
	n.Handle("broadcast", func(msg maelstrom.Message) error {
		v, _ := msg.Fields()["message"].(float64)
		learn([]int{int(v)}, "")
		return n.Reply(msg, map[string]any{"type": "broadcast_ok"})
	})
	n.Handle("read", func(msg maelstrom.Message) error {
		return n.Reply(msg, map[string]any{"type": "read_ok", "messages": sorted(messages)})
	})
	n.Handle("gossip", func(msg maelstrom.Message) error {
		values := ints(msg.Fields()["messages"])
		learn(values, msg.Src)
		return n.Reply(msg, map[string]any{"type": "gossip_ok", "messages": values})
	})
	if err := n.Run(); err != nil {
		log.Fatal(err)
	}
}
