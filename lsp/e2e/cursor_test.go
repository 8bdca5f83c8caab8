package e2e

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestRemoteCursorShows moves the cursor in one Neovim and expects the
// other to show it as an extmark at the same place, labelled with the
// person's name.
func TestRemoteCursorShows(t *testing.T) {
	needNvim(t)
	h := startHub(t)
	path := "cursor.txt"
	text := "alpha\nbéta gamma\ndelta\n"
	if err := os.WriteFile(filepath.Join(h.Dir, path), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	e1 := startEditor(t, "nvim1", h.URL, h.Project, h.Token, h.Dir)
	e2 := startEditor(t, "nvim2", h.URL, h.Project, h.Token, h.Dir)
	e1.open(t, path, text)
	e2.open(t, path, text)

	type mark struct {
		Row, Col int
		Label    string
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		// Row 2, byte column 6: after "béta " (é is two bytes).
		if err := e1.v.ExecLua(`vim.api.nvim_win_set_cursor(0, {2, 6}); require('rubberduck').send_cursor()`, nil); err != nil {
			t.Fatal(err)
		}
		var marks []mark
		err := e2.v.ExecLua(`
local ns = vim.api.nvim_create_namespace('rubberduck_cursors')
local out = {}
for _, m in ipairs(vim.api.nvim_buf_get_extmarks(0, ns, 0, -1, { details = true })) do
  local label = ''
  if m[4].virt_text then label = m[4].virt_text[1][1] end
  table.insert(out, { Row = m[2], Col = m[3], Label = label })
end
return out`, &marks)
		if err != nil {
			t.Fatal(err)
		}
		if len(marks) == 1 && marks[0].Row == 1 && marks[0].Col == 6 && len(marks[0].Label) > 1 {
			t.Logf("remote cursor shown at %d:%d as %q", marks[0].Row, marks[0].Col, marks[0].Label)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("remote cursor not shown; extmarks: %+v", marks)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
