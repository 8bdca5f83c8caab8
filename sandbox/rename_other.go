//go:build darwin || freebsd

package sandbox

// renameNoReplace moves (olddir, oldname) to (newdir, newname), failing with
// EEXIST when the destination exists. Without renameat2 the check and the
// rename are two steps; the race only lets a concurrent local writer's file
// be replaced by ours, never escape the project.
func renameNoReplace(olddir int, oldname string, newdir int, newname string) error {
	return renameCheckThen(olddir, oldname, newdir, newname)
}
