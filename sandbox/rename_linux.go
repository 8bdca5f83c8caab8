package sandbox

import "golang.org/x/sys/unix"

// renameNoReplace moves (olddir, oldname) to (newdir, newname) atomically,
// failing with EEXIST when the destination exists.
func renameNoReplace(olddir int, oldname string, newdir int, newname string) error {
	err := unix.Renameat2(olddir, oldname, newdir, newname, unix.RENAME_NOREPLACE)
	if err == unix.ENOSYS || err == unix.EINVAL {
		return renameCheckThen(olddir, oldname, newdir, newname)
	}
	return err
}
