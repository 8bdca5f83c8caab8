package crdt

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// applyChanges applies Changes to a text the way an editor would, so tests
// check that Apply's change list turns the old text into the new one.
func applyChanges(t testing.TB, text string, cs []Change) string {
	t.Helper()
	r := []rune(text)
	for _, c := range cs {
		if c.Pos < 0 || c.Delete < 0 || c.Pos+c.Delete > len(r) {
			t.Fatalf("change %+v out of range for text of %d", c, len(r))
		}
		r = append(r[:c.Pos:c.Pos], append([]rune(c.Insert), r[c.Pos+c.Delete:]...)...)
	}
	return string(r)
}

var alphabet = []rune("abcdefghij \nXYZéß€😀")

func randText(rng *rand.Rand, max int) string {
	n := 1 + rng.IntN(max)
	var b strings.Builder
	for range n {
		b.WriteRune(alphabet[rng.IntN(len(alphabet))])
	}
	return b.String()
}

// fixedClock returns a clock that advances one second per call, so undo
// grouping and attribution are deterministic.
func fixedClock() func() time.Time {
	t := time.Unix(1_700_000_000, 0)
	return func() time.Time { t = t.Add(time.Second); return t }
}

// replica is a Doc plus the text its editor would show, maintained only from
// returned Changes.
type replica struct {
	d      *Doc
	editor string
	inbox  [][]byte
}

// randomEdit makes one random local edit (insert, delete, undo or redo) and
// returns its update.
func randomEdit(t testing.TB, rng *rand.Rand, r *replica, authors []string) []byte {
	t.Helper()
	author := authors[rng.IntN(len(authors))]
	n := r.d.Len()
	var upd []byte
	var err error
	switch k := rng.IntN(20); {
	case k < 10 || n == 0:
		pos := rng.IntN(n + 1)
		txt := randText(rng, 6)
		upd, err = r.d.Insert(author, pos, txt)
		rs := []rune(r.editor)
		r.editor = string(rs[:pos]) + txt + string(rs[pos:])
	case k < 17:
		pos := rng.IntN(n)
		cnt := 1 + rng.IntN(min(5, n-pos))
		upd, err = r.d.Delete(author, pos, cnt)
		rs := []rune(r.editor)
		r.editor = string(rs[:pos]) + string(rs[pos+cnt:])
	case k < 19:
		var cs []Change
		upd, cs, err = r.d.Undo(author)
		if err == ErrNothingToUndo {
			return nil
		}
		r.editor = applyChanges(t, r.editor, cs)
	default:
		var cs []Change
		upd, cs, err = r.d.Redo(author)
		if err == ErrNothingToUndo {
			return nil
		}
		r.editor = applyChanges(t, r.editor, cs)
	}
	if err != nil {
		t.Fatalf("local edit: %v", err)
	}
	if got := r.d.Text(); got != r.editor {
		t.Fatalf("after local edit text %q, editor expects %q", got, r.editor)
	}
	return upd
}

// runConvergence simulates n replicas editing concurrently, delivering
// updates late, out of order and duplicated, then checks that everyone
// converges and that every replica's change lists kept its editor in step.
func runConvergence(t testing.TB, seed uint64, nrep, steps int) {
	t.Helper()
	runConvergenceRand(t, rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), seed, nrep, steps)
}

func runConvergenceRand(t testing.TB, rng *rand.Rand, seed uint64, nrep, steps int) {
	t.Helper()
	reps := make([]*replica, nrep)
	for i := range reps {
		reps[i] = &replica{d: New(ReplicaID(rng.Uint64()<<8|uint64(i+1)), // distinct even when the fuzzer feeds equal bytes
			WithClock(fixedClock()), WithUndoGroup(time.Duration(rng.IntN(3))*time.Second))}
	}
	authors := []string{"ann", "bob", "ai"}
	deliver := func(r *replica, upd []byte) {
		cs, err := r.d.Apply(upd)
		if err != nil {
			t.Fatalf("seed %d: apply: %v", seed, err)
		}
		r.editor = applyChanges(t, r.editor, cs)
		if got := r.d.Text(); got != r.editor {
			t.Fatalf("seed %d: after apply text %q, editor from changes %q", seed, got, r.editor)
		}
	}
	for range steps {
		i := rng.IntN(nrep)
		r := reps[i]
		switch k := rng.IntN(10); {
		case k < 6:
			if upd := randomEdit(t, rng, r, authors); upd != nil {
				for j, o := range reps {
					if j != i {
						o.inbox = append(o.inbox, upd)
						if rng.IntN(8) == 0 {
							o.inbox = append(o.inbox, upd) // duplicate
						}
					}
				}
			}
		case k < 9 && len(r.inbox) > 0:
			// deliver a random pending update (out of order)
			j := rng.IntN(len(r.inbox))
			upd := r.inbox[j]
			r.inbox = append(r.inbox[:j], r.inbox[j+1:]...)
			deliver(r, upd)
		default:
			// state-vector sync with a random peer
			o := reps[rng.IntN(nrep)]
			deliver(r, o.d.EncodeSince(r.d.StateVector()))
		}
	}
	// deliver everything left, in random order
	for _, r := range reps {
		rng.Shuffle(len(r.inbox), func(a, b int) { r.inbox[a], r.inbox[b] = r.inbox[b], r.inbox[a] })
		for _, upd := range r.inbox {
			deliver(r, upd)
		}
		r.inbox = nil
	}
	want := reps[0].d.Text()
	for i, r := range reps {
		if got := r.d.Text(); got != want {
			t.Fatalf("seed %d: replica %d diverged:\n got %q\nwant %q", seed, i, got, want)
		}
		if r.d.PendingLen() != 0 {
			t.Fatalf("seed %d: replica %d still has %d pending", seed, i, r.d.PendingLen())
		}
	}
	// a snapshot of any replica loads to the same text and re-encodes stably
	snap := reps[nrep-1].d.EncodeState()
	l, err := Load(NewReplicaID(), snap)
	if err != nil {
		t.Fatalf("seed %d: load: %v", seed, err)
	}
	if l.Text() != want {
		t.Fatalf("seed %d: snapshot text differs", seed)
	}
	if a, b := attrString(reps[0].d), attrString(l); a != b {
		t.Fatalf("seed %d: attribution differs after load:\n%s\n%s", seed, a, b)
	}
	// a snapshot merged into a replica that already has everything changes
	// nothing; merged into one that has its own edit, it converges with it
	if cs, err := reps[0].d.Apply(snap); err != nil || len(cs) != 0 {
		t.Fatalf("seed %d: re-applying a snapshot: %v %+v", seed, err, cs)
	}
	other := New(ReplicaID(rng.Uint64()<<8|0xff), WithClock(fixedClock()))
	u, _ := other.Insert("zoe", 0, "zoe was here")
	if _, err := other.Apply(snap); err != nil {
		t.Fatalf("seed %d: merge snapshot: %v", seed, err)
	}
	if _, err := l.Apply(u); err != nil {
		t.Fatal(err)
	}
	if other.Text() != l.Text() {
		t.Fatalf("seed %d: snapshot merged into an edited replica diverged:\n%q\n%q", seed, other.Text(), l.Text())
	}
}

func attrString(d *Doc) string {
	var b strings.Builder
	for _, s := range d.Attribution() {
		fmt.Fprintf(&b, "%d+%d:%s@%d ", s.Pos, s.Len, s.Author, s.Time.Unix())
	}
	return b.String()
}

// TestConvergenceRandom is the main correctness property: thousands of
// random concurrent sessions all converge byte-identically.
func TestConvergenceRandom(t *testing.T) {
	seeds := 3000
	switch {
	case testing.Short():
		seeds = 300
	case raceEnabled:
		seeds = 1000 // the race detector finds nothing more in more seeds
	}
	for seed := range uint64(seeds) {
		nrep := 2 + int(seed%4)
		runConvergence(t, seed, nrep, 60+int(seed%7)*20)
	}
}

// TestConvergenceLongSessions runs fewer but longer sessions (three to
// five replicas, 1,500 steps, like Teamtype's fuzzer) so documents grow
// large enough to split blocks and index chunks many times.
func TestConvergenceLongSessions(t *testing.T) {
	if testing.Short() {
		t.Skip("long sessions skipped in -short")
	}
	for seed := range uint64(10) {
		runConvergence(t, 1_000_000+seed, 3+int(seed%3), 1500)
	}
}
