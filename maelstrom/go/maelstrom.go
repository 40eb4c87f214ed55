// Package maelstrom is a Maelstrom node in Go (standard library only) with clustersim's
// virtual timers.
//
//	n := maelstrom.NewNode()
//	n.Handle("echo", func(msg maelstrom.Message) error {
//		body := msg.Fields()
//		return n.Reply(msg, map[string]any{"type": "echo_ok", "echo": body["echo"]})
//	})
//	n.Run()
//
// Handlers run one at a time on the goroutine that calls Run. Timers (After, Every) are
// virtual under clustersim (CLUSTERSIM_NODE_DIR is set): the node asks clustersim for a tick
// and runs the function when it arrives, on the same goroutine, so a run replays exactly.
// Under Maelstrom they run on the wall clock, under the same lock as the handlers.
//
// Go's maps iterate in a random order: sort what you send.
package maelstrom

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"time"
)

// Clustersim is the name a node writes as dest to reach clustersim itself (timers).
const Clustersim = "clustersim"

// Maelstrom's error codes.
const (
	Timeout                = 0
	NodeNotFound           = 1
	NotSupported           = 10
	TemporarilyUnavailable = 11
	MalformedRequest       = 12
	Crash                  = 13
	Abort                  = 14
	KeyDoesNotExist        = 20
	KeyAlreadyExists       = 21
	PreconditionFailed     = 22
	TxnConflict            = 30
)

// Message is one message as Maelstrom writes it.
type Message struct {
	Src  string          `json:"src"`
	Dest string          `json:"dest"`
	Body json.RawMessage `json:"body"`
}

// Fields is the body as a map (numbers as float64).
func (m Message) Fields() map[string]any {
	var body map[string]any
	_ = json.Unmarshal(m.Body, &body)
	return body
}

// Type is the body's type.
func (m Message) Type() string {
	t, _ := m.Fields()["type"].(string)
	return t
}

// RPCError answers the request being handled with Maelstrom's error message.
type RPCError struct {
	Code int
	Text string
}

func (e *RPCError) Error() string { return fmt.Sprintf("error %d: %s", e.Code, e.Text) }

// HandlerFunc handles one message.
type HandlerFunc func(msg Message) error

// Node is one Maelstrom node.
type Node struct {
	ID  string
	IDs []string
	// Dir survives the node's crashes (CLUSTERSIM_NODE_DIR); "." outside clustersim.
	Dir string

	mu        sync.Mutex
	virtual   bool
	handlers  map[string]HandlerFunc
	callbacks map[int]func(Message)
	timers    map[int]func()
	onInit    []func()
	nextMsgID int
	nextTimer int
	out       *bufio.Writer
}

// NewNode makes a node that reads stdin and writes stdout.
func NewNode() *Node {
	dir, virtual := os.LookupEnv("CLUSTERSIM_NODE_DIR")
	if !virtual {
		dir = "."
	}
	return &Node{
		Dir:       dir,
		virtual:   virtual,
		handlers:  map[string]HandlerFunc{},
		callbacks: map[int]func(Message){},
		timers:    map[int]func(){},
		out:       bufio.NewWriter(os.Stdout),
	}
}

// Handle registers fn for messages whose body type is typ.
func (n *Node) Handle(typ string, fn HandlerFunc) { n.handlers[typ] = fn }

// OnInit registers fn to run once init has set ID and IDs.
func (n *Node) OnInit(fn func()) { n.onInit = append(n.onInit, fn) }

// Send sends body to dest.
func (n *Node) Send(dest string, body any) error {
	raw, err := json.Marshal(body)
	if err != nil {
		return err
	}
	line, err := json.Marshal(Message{Src: n.ID, Dest: dest, Body: raw})
	if err != nil {
		return err
	}
	n.out.Write(line)
	n.out.WriteByte('\n')
	return n.out.Flush()
}

// Reply answers req with body (in_reply_to set).
func (n *Node) Reply(req Message, body map[string]any) error {
	body["in_reply_to"] = req.Fields()["msg_id"]
	return n.Send(req.Src, body)
}

// RPC sends body with a fresh msg_id; cb runs when the reply arrives.
func (n *Node) RPC(dest string, body map[string]any, cb func(Message)) error {
	n.nextMsgID++
	body["msg_id"] = n.nextMsgID
	n.callbacks[n.nextMsgID] = cb
	return n.Send(dest, body)
}

// After runs fn once, d from now (virtual time under clustersim).
func (n *Node) After(d time.Duration, fn func()) int {
	n.nextTimer++
	tag := n.nextTimer
	n.timers[tag] = fn
	if n.virtual {
		ms := float64(d) / float64(time.Millisecond)
		n.Send(Clustersim, map[string]any{"type": "set_timer", "ms": ms, "tag": tag})
	} else {
		time.AfterFunc(d, func() {
			n.mu.Lock()
			defer n.mu.Unlock()
			n.fire(tag)
		})
	}
	return tag
}

// Every runs fn every d (virtual time under clustersim), first after d.
func (n *Node) Every(d time.Duration, fn func()) {
	var tick func()
	tick = func() {
		fn()
		n.After(d, tick)
	}
	n.After(d, tick)
}

func (n *Node) fire(tag int) {
	if fn, ok := n.timers[tag]; ok {
		delete(n.timers, tag)
		fn()
	}
}

func (n *Node) handle(msg Message) error {
	body := msg.Fields()
	typ, _ := body["type"].(string)
	if msg.Src == Clustersim && typ == "timer" {
		if tag, ok := body["tag"].(float64); ok {
			n.fire(int(tag))
		}
		return nil
	}
	if typ == "init" {
		n.ID, _ = body["node_id"].(string)
		n.IDs = nil
		ids, _ := body["node_ids"].([]any)
		for _, id := range ids {
			if s, ok := id.(string); ok {
				n.IDs = append(n.IDs, s)
			}
		}
		for _, fn := range n.onInit {
			fn()
		}
		return n.Reply(msg, map[string]any{"type": "init_ok"})
	}
	if re, ok := body["in_reply_to"].(float64); ok {
		if cb, ok := n.callbacks[int(re)]; ok {
			delete(n.callbacks, int(re))
			cb(msg)
		}
		return nil
	}
	fn, ok := n.handlers[typ]
	if !ok {
		return n.Reply(msg, map[string]any{"type": "error", "code": NotSupported, "text": "no handler for " + typ})
	}
	if err := fn(msg); err != nil {
		if e, ok := err.(*RPCError); ok {
			return n.Reply(msg, map[string]any{"type": "error", "code": e.Code, "text": e.Text})
		}
		return err
	}
	return nil
}

// Run reads messages from stdin, one line each, until it closes.
func (n *Node) Run() error {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<26)
	for in.Scan() {
		if len(in.Bytes()) == 0 {
			continue
		}
		var msg Message
		if err := json.Unmarshal(in.Bytes(), &msg); err != nil {
			return err
		}
		n.mu.Lock()
		err := n.handle(msg)
		n.mu.Unlock()
		if err != nil {
			return err
		}
	}
	return in.Err()
}
