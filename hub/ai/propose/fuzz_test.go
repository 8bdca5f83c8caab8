package propose_test

import (
	"testing"

	"github.com/rubberduckhub/rubberduck/hub/ai/propose"
)

// FuzzReplacements feeds arbitrary model answers and documents through
// parsing and tolerant application: nothing may panic, and a replacement
// that applies must leave the text outside the match untouched in length
// terms (it never grows beyond document + replacement).
func FuzzReplacements(f *testing.F) {
	f.Add("a.go\n<<<<<<< SEARCH\nx\n=======\ny\n>>>>>>> REPLACE\n", "x\n")
	f.Add("<<<<<<< SEARCH\n\tfoo()\n=======\n    bar()\n>>>>>>> REPLACE\n", "func f() {\n\tfoo()\n}\n")
	f.Add("<<<<<<< SEARCH\n=======\n>>>>>>> REPLACE", "")
	f.Add("```go path/x.go\n<<<<<<< SEARCH\n\n=======\n\n>>>>>>> REPLACE\n```", "\n\n\n")
	f.Fuzz(func(t *testing.T, answer, doc string) {
		for _, r := range propose.ParseReplacements(answer, "default.go") {
			out, _, ok := propose.ApplyReplacement(doc, r)
			if ok && len(out) > len(doc)+len(r.Replace)+1 {
				t.Fatalf("grew too much: %d > %d + %d", len(out), len(doc), len(r.Replace))
			}
		}
	})
}
