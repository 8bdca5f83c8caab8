// Package sandbox is the only code in RubberDuck that touches a project's
// files on disk, and its job is to make sure every byte read or written stays
// inside the project it belongs to.
//
// Start with Open: it returns a *Root for one project directory, holding an
// os.Root (openat-based containment, so a symlink swapped in mid-operation
// cannot lead outside) plus the project's Policy. Every file-manager operation
// is a method on Root that takes a context first: Stat, List, Read, Write,
// Create, Mkdir, Rename, Delete (to a trash kept outside the project, with
// ListTrash, Restore and Purge), Search and AuditSymlinks.
//
// Defence in depth, outermost first (docs/security.md has the full model):
//
//  1. CleanPath rejects hostile path strings (NUL, control and format
//     characters, backslashes, absolute, drive-letter and UNC forms, invalid
//     UTF-8, over-long names, anything that climbs out after cleaning). It is
//     a filter that gives clear errors, never the guard.
//  2. The Policy (enabled, read-only, size limit, allow/deny/write-deny globs,
//     .git write-protected) is checked on the path the caller named and on the
//     path it resolves to through in-project symlinks.
//  3. Reads are resolved by the kernel beneath the root's directory
//     descriptor (openat2 RESOLVE_BENEATH on Linux, os.Root elsewhere).
//     Mutations walk the resolved path one component at a time with
//     O_NOFOLLOW from that descriptor and act with *at system calls on the
//     final directory, so neither a symlink nor a race can redirect a write,
//     and policy is enforced on exactly the file that changes.
//  4. Only regular files are read or replaced; FIFOs, sockets and devices are
//     refused without ever blocking, and files with several hard links are
//     never written.
//
// Errors are *Error values with a Code (Code.RPCCode suggests the JSON-RPC
// code); their messages carry only project-relative paths. Callers identify the acting user with WithActor;
// every operation is reported to the Auditor and counted in Prometheus
// metrics named rubberduck_sandbox_*. The Observer and ContentCache hooks
// connect sandbox/watch and sandbox/cache without this package importing
// them. docs/security.md is the threat model; ADRs 0020-0024 the decisions.
//
// The operations need Unix *at system calls (Linux, macOS, FreeBSD); on
// other platforms the package builds but Open returns Unsupported.
package sandbox
