package ai

import (
	"reflect"
	"testing"
)

func TestParseCommand(t *testing.T) {
	cases := []struct{ in, name, rest string }{
		{"/fix the loop", "fix", "the loop"},
		{"  /HELP", "help", ""},
		{"/explain\nwhy this?", "explain", "why this?"},
		{"// a comment, not a command", "", "// a comment, not a command"},
		{"no command", "", "no command"},
	}
	for _, c := range cases {
		name, rest := parseCommand(c.in)
		if name != c.name || rest != c.rest {
			t.Errorf("parseCommand(%q) = %q, %q; want %q, %q", c.in, name, rest, c.name, c.rest)
		}
	}
}

func TestParseMentions(t *testing.T) {
	got := parseMentions("compare @file:a/b.go with @hub/ai/ai.go, @symbol:Engine.Send and @selection; ask @ann about @problems.")
	want := []Mention{{"file", "a/b.go"}, {"file", "hub/ai/ai.go"}, {"symbol", "Engine.Send"}, {"selection", ""}, {"problems", ""}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("mentions = %+v\nwant %+v", got, want)
	}
	if m := parseMentions("mail me at ann@example.com"); len(m) != 0 {
		t.Errorf("an e-mail address is no mention: %+v", m)
	}
}

func FuzzParsing(f *testing.F) {
	f.Add("/fix @file:x.go @symbol:Y @selection")
	f.Add("@@@ /// @file: @symbol:")
	f.Fuzz(func(t *testing.T, s string) {
		parseCommand(s)
		parseMentions(s)
		region(s, len(s)%7, 3)
	})
}
