package sandbox

import (
	"syscall"
	"time"
)

func sysMtime(st *syscall.Stat_t) time.Time {
	return time.Unix(int64(st.Mtim.Sec), int64(st.Mtim.Nsec)) //nolint:unconvert // int32 on 32-bit
}
