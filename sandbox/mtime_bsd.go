//go:build darwin || freebsd

package sandbox

import (
	"syscall"
	"time"
)

func sysMtime(st *syscall.Stat_t) time.Time {
	return time.Unix(int64(st.Mtimespec.Sec), int64(st.Mtimespec.Nsec)) //nolint:unconvert
}
