package index

import "errors"

// ErrUnsupported is returned for files in a language the index does not parse.
var ErrUnsupported = errors.New("language not supported")
