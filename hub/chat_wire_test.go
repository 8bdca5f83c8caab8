package hub_test

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/rubberduckhub/rubberduck/hub/ai"
	"github.com/rubberduckhub/rubberduck/hub/ai/propose"
	"github.com/rubberduckhub/rubberduck/lsp/protocol"
)

// fill sets every exported field reachable from v to a non-zero value, so
// a field added on one side of the wire and not the other shows up.
func fill(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem())
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			v.Set(reflect.ValueOf(time.Date(2026, 11, 25, 19, 0, 0, 0, time.UTC)))
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i))
			}
		}
	case reflect.Slice:
		if v.Type() == reflect.TypeFor[json.RawMessage]() {
			v.SetBytes([]byte(`{"a":1}`))
			return
		}
		s := reflect.MakeSlice(v.Type(), 1, 1)
		fill(s.Index(0))
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fill(k)
		fill(e)
		m.SetMapIndex(k, e)
		v.Set(m)
	case reflect.String:
		v.SetString("x")
	case reflect.Int, reflect.Int64, reflect.Int32:
		v.SetInt(7)
	case reflect.Uint32, reflect.Uint64:
		v.SetUint(7)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Float64:
		v.SetFloat(1.5)
	}
}

// roundTrip checks that from, filled, survives decoding into to and
// encoding again unchanged.
func roundTrip[From, To any](t *testing.T) {
	t.Helper()
	var from From
	fill(reflect.ValueOf(&from).Elem())
	a, err := json.Marshal(from)
	if err != nil {
		t.Fatal(err)
	}
	var to To
	if err := json.Unmarshal(a, &to); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(to)
	var am, bm any
	_ = json.Unmarshal(a, &am)
	_ = json.Unmarshal(b, &bm)
	if !reflect.DeepEqual(am, bm) {
		t.Fatalf("%T and %T differ on the wire:\n%s\n%s", from, to, a, b)
	}
}

// The hub answers with hub/ai's types and clients decode lsp/protocol's:
// they must be the same on the wire, in both directions.
func TestChatWireTypesMatchTheEngine(t *testing.T) {
	roundTrip[ai.Message, protocol.ChatMessage](t)
	roundTrip[protocol.ChatMessage, ai.Message](t)
	roundTrip[ai.HistoryPage, protocol.ChatHistoryResult](t)
	roundTrip[ai.SendResult, protocol.ChatSendResult](t)
	roundTrip[protocol.ChatEditor, ai.EditorContext](t)
	roundTrip[ai.EditorContext, protocol.ChatEditor](t)
	roundTrip[propose.Proposal, protocol.Proposal](t)
	roundTrip[protocol.Proposal, propose.Proposal](t)
	roundTrip[ai.Part, protocol.ChatPart](t)
}
