package crdt_test

import (
	"fmt"

	"github.com/rubberduckhub/rubberduck/hub/crdt"
)

// Two replicas edit concurrently, exchange their updates in any order and
// converge; the receiving side gets editor-ready changes.
func Example() {
	hub := crdt.New(crdt.NewReplicaID())
	proxy := crdt.New(crdt.NewReplicaID())

	u1, _ := hub.Insert("ann", 0, "hello world")
	proxy.Apply(u1)

	u2, _ := hub.Replace("ann", 0, 5, "goodbye") // ann edits on the hub
	u3, _ := proxy.Insert("bob", 11, "!")        // bob, concurrently, on his proxy

	changes, _ := proxy.Apply(u2)
	hub.Apply(u3)

	fmt.Println(hub.Text())
	fmt.Println(proxy.Text())
	fmt.Printf("%+v\n", changes)
	// Output:
	// goodbye world!
	// goodbye world!
	// [{Pos:0 Delete:5 Insert:goodbye}]
}

// A reconnecting replica sends its state vector and receives exactly what
// it missed.
func ExampleDoc_EncodeSince() {
	a := crdt.New(1)
	b := crdt.New(2)
	u, _ := a.Insert("ann", 0, "shared")
	b.Apply(u)
	a.Insert("ann", 6, " text") // b is offline

	sv := b.StateVector().Encode() // sent over the wire
	have, _ := crdt.DecodeStateVector(sv)
	b.Apply(a.EncodeSince(have))
	fmt.Println(b.Text())
	// Output: shared text
}

// Undo reverts only the author's own edits, even after others typed.
func ExampleDoc_Undo() {
	d := crdt.New(1, crdt.WithUndoGroup(0))
	d.Insert("ann", 0, "ann ")
	d.Insert("bob", 4, "bob")
	_, changes, _ := d.Undo("ann")
	fmt.Printf("%q %+v\n", d.Text(), changes)
	// Output: "bob" [{Pos:0 Delete:4 Insert:}]
}
