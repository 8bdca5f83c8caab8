package sandbox

import (
	"context"
	"errors"
	"io/fs"
	"strconv"
	"strings"
	"syscall"
	"unicode"
	"unicode/utf8"
)

// Code classifies an Error so that callers (the JSON-RPC layer, the CLI) can
// react without parsing messages. Codes are stable strings: they are part of
// the wire protocol.
type Code string

// Error codes. The suggested JSON-RPC error code is in brackets; see
// Code.RPCCode and docs/security.md.
const (
	// NotFound: the path (or a directory on the way) does not exist, or the
	// caller may not know that it exists. [-32010]
	NotFound Code = "not_found"
	// Exists: the target already exists (Create, Mkdir, Rename, Restore). [-32011]
	Exists Code = "exists"
	// Denied: the policy or the containment check refused the path (a
	// symlink out of the project, a denied pattern, a hard-linked file). [-32012]
	Denied Code = "denied"
	// InvalidPath: the path string itself was rejected by CleanPath. [-32013]
	InvalidPath Code = "invalid_path"
	// TooLarge: the content is larger than the policy's MaxFileSize. [-32014]
	TooLarge Code = "too_large"
	// Conflict: the etag given with a write no longer matches the file,
	// or the path changed while the operation ran. [-32015]
	Conflict Code = "conflict"
	// NotAFile: the operation needs a regular file but found a directory,
	// FIFO, socket or device. [-32016]
	NotAFile Code = "not_a_file"
	// NotADirectory: the operation needs a directory. [-32017]
	NotADirectory Code = "not_a_directory"
	// ReadOnly: the project's policy is read-only. [-32018]
	ReadOnly Code = "read_only"
	// Disabled: file access is switched off for this project. [-32019]
	Disabled Code = "disabled"
	// Unsupported: the request is valid but this server cannot do it (a
	// platform without the *at system calls, a project without a trash).
	// [-32020]
	Unsupported Code = "unsupported"
	// InvalidArgument: a parameter other than the path is malformed (a bad
	// regular expression, an unknown encoding, a bad cursor). [-32602]
	InvalidArgument Code = "invalid_argument"
	// Unavailable: the server is short of a resource (disk full, quota,
	// too many open files) or the Root is closed; retrying later may work. [-32021]
	Unavailable Code = "unavailable"
	// Canceled: the context was cancelled or its deadline passed. [-32800]
	Canceled Code = "canceled"
	// Internal: anything unexpected. Details go to the server log only. [-32603]
	Internal Code = "internal"
)

// RPCCode suggests the JSON-RPC 2.0 error code for c, so that the hub's
// handlers map errors the same way everywhere. Application codes use the
// -32010..-32021 range; InvalidArgument and Internal reuse the standard
// -32602 and -32603; Canceled reuses LSP's RequestCancelled (-32800).
func (c Code) RPCCode() int {
	switch c {
	case NotFound:
		return -32010
	case Exists:
		return -32011
	case Denied:
		return -32012
	case InvalidPath:
		return -32013
	case TooLarge:
		return -32014
	case Conflict:
		return -32015
	case NotAFile:
		return -32016
	case NotADirectory:
		return -32017
	case ReadOnly:
		return -32018
	case Disabled:
		return -32019
	case Unsupported:
		return -32020
	case Unavailable:
		return -32021
	case InvalidArgument:
		return -32602
	case Canceled:
		return -32800
	default:
		return -32603
	}
}

// Error is the only error type the sandbox returns from its operations.
// Error() is safe to show to a client: it names the operation and the
// project-relative path, never a server path and never the underlying
// system error text (which may contain one). The cause is kept for the
// server's log via Cause.
type Error struct {
	Code Code
	// Op is the operation: "read", "write", "list", ...
	Op string
	// Path is the project-relative path as the caller gave it (cleaned when
	// it passed validation), or empty.
	Path string
	// Msg is a short human explanation, free of server paths.
	Msg   string
	cause error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Op)
	if e.Path != "" {
		b.WriteByte(' ')
		b.WriteString(quotePath(e.Path))
	}
	b.WriteString(": ")
	b.WriteString(string(e.Code))
	if e.Msg != "" {
		b.WriteString(": ")
		b.WriteString(e.Msg)
	}
	return b.String()
}

// Cause returns the underlying error for server-side logging. It may
// contain absolute paths: never send it to a client.
func (e *Error) Cause() error { return e.cause }

// Is lets callers use errors.Is with the io/fs and context sentinels.
func (e *Error) Is(target error) bool {
	switch target {
	case fs.ErrNotExist:
		return e.Code == NotFound
	case fs.ErrExist:
		return e.Code == Exists
	case fs.ErrPermission:
		return e.Code == Denied || e.Code == ReadOnly || e.Code == Disabled
	case fs.ErrInvalid:
		return e.Code == InvalidPath || e.Code == InvalidArgument
	case context.Canceled, context.DeadlineExceeded:
		return e.Code == Canceled
	}
	return false
}

// CodeOf returns the Code of err, or Internal when err is not an *Error.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	if err == nil {
		return ""
	}
	return Internal
}

// quotePath keeps a hostile path from forging log lines or terminal escapes
// when an error message or audit record is printed: paths with control,
// invisible or invalid bytes, or quotes, are Go-quoted; printable Unicode
// stays readable.
func quotePath(p string) string {
	for _, r := range p {
		if r < 0x20 || r == 0x7f || r == '"' || r == utf8.RuneError || !unicode.IsPrint(r) && r != ' ' {
			return strconv.Quote(p)
		}
	}
	return p
}

func newErr(code Code, op, rel, msg string) *Error {
	return &Error{Code: code, Op: op, Path: rel, Msg: msg}
}

// errPathEscapes is the text of os.Root's unexported "escapes" error.
const errPathEscapesText = "path escapes from parent"

// errEscapes is our own copy of it, for the openat2 path.
var errEscapes = errors.New(errPathEscapesText)

// mapErr turns an error from the os/unix layer into an *Error. It is the
// single place that decides what a client may learn about a failure.
func mapErr(op, rel string, err error) *Error {
	if err == nil {
		return nil
	}
	var se *Error
	if errors.As(err, &se) {
		return se
	}
	e := &Error{Op: op, Path: rel, cause: err}
	var errno syscall.Errno
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		e.Code, e.Msg = Canceled, "request cancelled"
	case strings.Contains(err.Error(), errPathEscapesText):
		e.Code, e.Msg = Denied, "path leads outside the project"
	case errors.As(err, &errno):
		e.Code, e.Msg = mapErrno(errno)
	case errors.Is(err, fs.ErrNotExist):
		e.Code = NotFound
	case errors.Is(err, fs.ErrExist):
		e.Code = Exists
	case errors.Is(err, fs.ErrPermission):
		e.Code, e.Msg = Denied, "permission denied"
	case errors.Is(err, fs.ErrClosed):
		e.Code, e.Msg = Unavailable, "project closed"
	default:
		e.Code = Internal
	}
	return e
}

func mapErrno(errno syscall.Errno) (Code, string) {
	switch errno {
	case syscall.ENOENT, syscall.ENOTDIR:
		return NotFound, ""
	case syscall.EEXIST, syscall.ENOTEMPTY:
		return Exists, ""
	case syscall.EACCES, syscall.EPERM, syscall.EROFS:
		return Denied, "permission denied"
	case syscall.ELOOP:
		return Denied, "too many symbolic links or a symbolic link where none is allowed"
	case syscall.EISDIR, syscall.ENXIO, syscall.ENODEV, syscall.ETXTBSY:
		return NotAFile, ""
	case syscall.ENAMETOOLONG:
		return InvalidPath, "name too long"
	case syscall.EINVAL:
		return InvalidArgument, "invalid operation for this path"
	case syscall.EXDEV:
		return Unsupported, "crosses file systems"
	case syscall.EFBIG:
		return TooLarge, ""
	case syscall.ENOSPC, syscall.EDQUOT, syscall.EMFILE, syscall.ENFILE, syscall.ENOMEM, syscall.EAGAIN, syscall.EBUSY:
		return Unavailable, "server resource exhausted"
	case syscall.EBADF:
		return Unavailable, "project closed"
	}
	return Internal, ""
}

func isErrno(err error, n syscall.Errno) bool {
	var errno syscall.Errno
	return errors.As(err, &errno) && errno == n
}
