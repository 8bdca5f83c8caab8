package crdt

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"testing"
)

// byteSource turns fuzz input into a random stream, so the fuzzer steers
// which edits happen and in which order updates are delivered. Once the
// input is used up it continues with a PRNG (a constant stream would make
// rand's rejection sampling loop forever).
type byteSource struct {
	b    []byte
	tail *rand.PCG
}

func (s *byteSource) Uint64() uint64 {
	if len(s.b) == 0 {
		if s.tail == nil {
			s.tail = rand.NewPCG(1, 2)
		}
		return s.tail.Uint64()
	}
	var buf [8]byte
	n := copy(buf[:], s.b)
	s.b = s.b[n:]
	return binary.LittleEndian.Uint64(buf[:])
}

// FuzzConverge drives a multi-replica session from fuzz bytes: every
// schedule of concurrent edits, undos, duplicates and late deliveries must
// converge.
func FuzzConverge(f *testing.F) {
	for i := range 8 {
		seed := make([]byte, 64+i*40)
		for j := range seed {
			seed[j] = byte(j*7 + i*13)
		}
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 8 {
			return
		}
		nrep := 2 + int(data[0]%3)
		runConvergenceRand(t, rand.New(&byteSource{b: data[1:]}), 0, nrep, 20+len(data)/4)
	})
}

// sampleUpdates returns a few real updates (a session with two replicas,
// deletions and undo) to seed the hostile-input fuzzer.
func sampleUpdates() [][]byte {
	a := New(11, WithClock(fixedClock()))
	b := New(22, WithClock(fixedClock()))
	var out [][]byte
	add := func(u []byte, err error) {
		if err == nil && u != nil {
			out = append(out, u)
			b.Apply(u)
		}
	}
	add(a.Insert("ann", 0, "hello wörld 😀"))
	add(a.Delete("ann", 2, 3))
	add(a.Insert("ann", 1, "XY"))
	u, _, _ := a.Undo("ann")
	add(u, nil)
	ub, _ := b.Insert("bob", 0, "bob says ")
	out = append(out, ub, b.EncodeState(), a.EncodeSince(b.StateVector()))
	return out
}

// FuzzApply feeds arbitrary bytes to Apply: it must never panic, and bytes
// it rejects must leave the document exactly as it was.
func FuzzApply(f *testing.F) {
	for _, u := range sampleUpdates() {
		f.Add(u)
		f.Add(u[:len(u)/2])
		bad := bytes.Clone(u)
		bad[len(bad)/2] ^= 0x5a
		f.Add(bad)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d := New(33, WithClock(fixedClock()))
		d.Insert("carol", 0, "base text ✓")
		d.Delete("carol", 2, 2)
		before, sv := d.EncodeState(), d.StateVector().Encode()
		text := d.Text()
		cs, err := d.Apply(data)
		if err != nil {
			if d.Text() != text || !bytes.Equal(d.StateVector().Encode(), sv) || !bytes.Equal(d.EncodeState(), before) {
				t.Fatalf("rejected update changed the document")
			}
			return
		}
		if got := applyChanges(t, text, cs); got != d.Text() {
			t.Fatalf("changes %+v turn %q into %q, doc has %q", cs, text, got, d.Text())
		}
		// whatever was accepted must survive a snapshot round trip and
		// keep the doc usable
		l, err := Load(44, d.EncodeState())
		if err != nil {
			t.Fatalf("reload: %v", err)
		}
		if l.Text() != d.Text() {
			t.Fatalf("reload text differs")
		}
		if _, err := d.Insert("carol", d.Len(), "!"); err != nil {
			t.Fatal(err)
		}
		d.Undo("carol")
		d.Attribution()
	})
}

// FuzzDecodeStateVector checks the state vector decoder never panics and
// round-trips what it accepts.
func FuzzDecodeStateVector(f *testing.F) {
	f.Add(StateVector{1: 5, 2: 7}.Encode())
	f.Add([]byte{0xff, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		sv, err := DecodeStateVector(data)
		if err != nil {
			return
		}
		sv2, err := DecodeStateVector(sv.Encode())
		if err != nil || len(sv2) != len(sv) {
			t.Fatalf("round trip failed: %v", err)
		}
	})
}
