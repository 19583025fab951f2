package render

import (
	"os"

	"golang.org/x/sys/unix"
)

// growPipe asks for a 1 MiB pipe buffer (Linux allows up to
// /proc/sys/fs/pipe-max-size unprivileged), so that ffmpeg reads a frame
// in a few large reads rather than in 64 KiB pieces. Failure is harmless.
func growPipe(f *os.File) {
	c, err := f.SyscallConn()
	if err != nil {
		return
	}
	_ = c.Control(func(fd uintptr) {
		_, _ = unix.FcntlInt(fd, unix.F_SETPIPE_SZ, 1<<20)
	})
}
