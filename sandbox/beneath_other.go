//go:build darwin || freebsd

package sandbox

// openBeneath is only implemented on Linux; elsewhere reads use os.Root.
func openBeneath(dirfd int, rel string, flags int, noSymlinks bool) (fd int, ok bool, err error) {
	return -1, false, nil
}
