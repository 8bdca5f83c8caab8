// Package e2e holds RubberDuck's end-to-end tests of real-time co-editing:
// real headless Neovim instances (Debian's 0.7.2 and later) running the
// extensions/nvim plugin, each starting a real `rubberduck lsp` built from
// this tree, a thin WebSocket replica client, and a real hub, all editing
// the same file at once until they must agree byte for byte.
//
// The tests skip with a message when nvim is not installed
// (apt-get install neovim). RUBBERDUCK_E2E_LONG=1 runs 100 seeds instead
// of 20.
package e2e
